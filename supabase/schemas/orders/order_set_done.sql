-- order_set_done(id, slides, ms): records the set once (p_slides: [{role, n, jpeg_b64,
-- width, height}], validated against the marketplace by the job before it calls this),
-- moves the order rendering → rendered and enqueues the set's delivery (album + zip), in
-- one transaction keyed by the order. A canceled order gets no delivery. Returns the
-- order; null when it is gone.
create or replace function public.order_set_done(p_id bigint, p_slides jsonb, p_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v     public.orders;
  v_job bigint;
begin
  update public.orders
     set status = 'rendered', set_at = now(), updated_at = now(), timings = timings || jsonb_build_object('set', p_ms)
   where id = p_id and status = 'rendering' and choice is not null and set_at is null
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id;
    return to_jsonb(v);
  end if;
  insert into public.order_images (order_id, role, n, bytes, width, height)
  select p_id, x->>'role', (x->>'n')::smallint, decode(x->>'jpeg_b64', 'base64'), (x->>'width')::int, (x->>'height')::int
    from jsonb_array_elements(p_slides) x
  on conflict do nothing;
  select j.id into v_job from public.enqueue(jsonb_build_object(
    'kind', 'deliver-card',
    'payload', jsonb_build_object('orderId', v.id, 'stage', 'set'),
    'priority', -1,
    'max_attempts', 10,
    'idempotency_key', 'deliver-set:' || v.id,
    'fair_key', 'user:' || v.user_id)) j;
  update public.orders set set_deliver_job_id = v_job where id = v.id returning * into v;
  return to_jsonb(v);
end
$$;

revoke execute on function public.order_set_done(bigint, jsonb, integer) from public, anon, authenticated;
grant execute on function public.order_set_done(bigint, jsonb, integer) to service_role;
