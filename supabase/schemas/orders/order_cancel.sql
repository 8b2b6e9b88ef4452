-- order_cancel(id, user): the user's own open order only. Its jobs are canceled too:
-- a queued render never runs; a running one finishes but is fenced out, and
-- order_variants_done() / order_set_done() enqueue no delivery for a canceled order.
-- Works until the set is delivered (awaiting_choice included).
create or replace function public.order_cancel(p_id bigint, p_user bigint)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  update public.orders set status = 'canceled', updated_at = now()
   where id = p_id and user_id = p_user and status in ('queued', 'rendering', 'awaiting_choice', 'rendered')
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id and user_id = p_user;
    return jsonb_build_object('result', case when found then 'not_open' else 'not_found' end,
                              'order', case when found then to_jsonb(v) end);
  end if;
  if v.render_job_id is not null then perform public.cancel_job(v.render_job_id); end if;
  if v.deliver_job_id is not null then perform public.cancel_job(v.deliver_job_id); end if;
  if v.set_job_id is not null then perform public.cancel_job(v.set_job_id); end if;
  if v.set_deliver_job_id is not null then perform public.cancel_job(v.set_deliver_job_id); end if;
  return jsonb_build_object('result', 'canceled', 'order', to_jsonb(v));
end
$$;

revoke execute on function public.order_cancel(bigint, bigint) from public, anon, authenticated;
grant execute on function public.order_cancel(bigint, bigint) to service_role;
