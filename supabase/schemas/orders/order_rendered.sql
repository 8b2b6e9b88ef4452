-- order_rendered(id, jpeg_b64, width, height, render_ms): store the card and enqueue its
-- delivery in the same transaction, with an idempotency key derived from the order, so
-- a render retried after a crash never enqueues a second delivery. A canceled order
-- keeps its card but gets no delivery. jpeg_b64 null = the card is stored already.
--
-- Delivery edits the bot's "queued" answer, so it is due once the bot has recorded that
-- answer: now when it has (the usual case), otherwise 10 s after the order was created;
-- order_set_ack() makes it due the moment the answer is recorded. The deadline covers a
-- bot that died between creating the order and recording its answer (the update is not
-- handled again): the card is then delivered without the answer being edited.
-- History: 20261125100100_fn_orders.sql (first version), 20261205120000_flow_ack_photos.sql.
create or replace function public.order_rendered(
  p_id bigint, p_jpeg_b64 text, p_width integer, p_height integer, p_render_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v   public.orders;
  v_job bigint;
begin
  if p_jpeg_b64 is not null then
    insert into public.order_cards (order_id, jpeg, width, height)
    values (p_id, decode(p_jpeg_b64, 'base64'), p_width, p_height)
    on conflict (order_id) do nothing;
  end if;
  update public.orders
     set status = 'rendered', rendered_at = now(), render_ms = coalesce(p_render_ms, render_ms), updated_at = now()
   where id = p_id and status in ('queued', 'rendering')
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id;
    return to_jsonb(v);
  end if;
  -- priority -1: finishing a started order goes before starting new renders
  select j.id into v_job from public.enqueue(jsonb_build_object(
    'kind', 'deliver-card',
    'payload', jsonb_build_object('orderId', v.id),
    'priority', -1,
    'max_attempts', 10,
    'run_at', case when v.ack_message_id is null then greatest(now(), v.created_at + interval '10 seconds') end,
    'idempotency_key', 'deliver:' || v.id,
    'fair_key', 'user:' || v.user_id)) j;
  update public.orders set deliver_job_id = v_job where id = v.id returning * into v;
  return to_jsonb(v);
end
$$;

revoke execute on function public.order_rendered(bigint, text, integer, integer, integer) from public, anon, authenticated;
grant execute on function public.order_rendered(bigint, text, integer, integer, integer) to service_role;
