-- order_variants_done(id, variants, ms): records the 3 variants once (p_variants:
-- [{n, jpeg_b64, width, height}]), moves the order to awaiting_choice and enqueues their
-- delivery (album + 1/2/3 buttons), in one transaction with an idempotency key derived
-- from the order, so a retried render never enqueues a second delivery. A canceled order
-- keeps nothing new and gets no delivery. Returns the order; null when it is gone.
--
-- The delivery edits the bot's "queued" answer, so it is due once the bot has recorded
-- that answer: now when it has (the usual case), otherwise 10 s after the order was
-- created; order_set_ack() makes it due the moment the answer is recorded.
-- Replaces order_rendered() (20261125100100_fn_orders.sql, 20261205120000_flow_ack_photos.sql).
create or replace function public.order_variants_done(p_id bigint, p_variants jsonb, p_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v     public.orders;
  v_job bigint;
begin
  update public.orders
     set status = 'awaiting_choice', variants_at = now(), rendered_at = now(), render_ms = p_ms, updated_at = now(),
         timings = timings || jsonb_build_object('variants', p_ms)
   where id = p_id and status in ('queued', 'rendering') and variants_at is null
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id;
    return to_jsonb(v);
  end if;
  insert into public.order_images (order_id, role, n, bytes, width, height)
  select p_id, 'variant', (x->>'n')::smallint, decode(x->>'jpeg_b64', 'base64'), (x->>'width')::int, (x->>'height')::int
    from jsonb_array_elements(p_variants) x
  on conflict do nothing;
  -- priority -1: finishing a started order goes before starting new renders
  select j.id into v_job from public.enqueue(jsonb_build_object(
    'kind', 'deliver-card',
    'payload', jsonb_build_object('orderId', v.id, 'stage', 'variants'),
    'priority', -1,
    'max_attempts', 10,
    'run_at', case when v.ack_message_id is null then greatest(now(), v.created_at + interval '10 seconds') end,
    'idempotency_key', 'deliver:' || v.id,
    'fair_key', 'user:' || v.user_id)) j;
  update public.orders set deliver_job_id = v_job where id = v.id returning * into v;
  return to_jsonb(v);
end
$$;

revoke execute on function public.order_variants_done(bigint, jsonb, integer) from public, anon, authenticated;
grant execute on function public.order_variants_done(bigint, jsonb, integer) to service_role;
