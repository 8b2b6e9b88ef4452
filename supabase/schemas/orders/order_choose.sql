-- order_choose(id, user, variant): the seller's pick under the variants. The same pick
-- again (a repeated tap or Telegram update) is a no-op; a different one after the first
-- is refused ('conflict'). The first pick moves awaiting_choice → rendering and enqueues
-- the set (card-set, once: its idempotency key is the order's). Returns
-- {result: 'ok'|'conflict'|'not_ready'|'closed', choice, order}; null for anyone else's order.
create or replace function public.order_choose(p_id bigint, p_user bigint, p_variant integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v     public.orders;
  v_job bigint;
begin
  select * into v from public.orders where id = p_id and user_id = p_user for update;
  if not found then return null; end if;
  if v.choice is not null then
    return jsonb_build_object('result', case when v.choice = p_variant then 'ok' else 'conflict' end,
                              'choice', v.choice, 'order', to_jsonb(v));
  end if;
  if v.status <> 'awaiting_choice' then
    return jsonb_build_object('result', case when v.status in ('queued', 'rendering') then 'not_ready' else 'closed' end,
                              'choice', null, 'order', to_jsonb(v));
  end if;
  if p_variant not between 1 and 3 then
    raise exception 'order_choose: variant must be 1-3' using errcode = '22023';
  end if;
  select j.id into v_job from public.enqueue(jsonb_build_object(
    'kind', 'card-set',
    'payload', jsonb_build_object('orderId', v.id),
    'priority', -1,
    'idempotency_key', 'set:' || v.id,
    'fair_key', 'user:' || v.user_id)) j;
  update public.orders set choice = p_variant, status = 'rendering', set_job_id = v_job, updated_at = now()
   where id = p_id returning * into v;
  return jsonb_build_object('result', 'ok', 'choice', p_variant, 'order', to_jsonb(v));
end
$$;

revoke execute on function public.order_choose(bigint, bigint, integer) from public, anon, authenticated;
grant execute on function public.order_choose(bigint, bigint, integer) to service_role;
