-- order_cutout_done(id, b64, framed_reason, ms): records the cut-out stage once (the
-- product as PNG, or the photo to frame and why). A second call (a retried or taken-over
-- job) changes nothing. Returns {recorded}; null when the order is gone.
create or replace function public.order_cutout_done(p_id bigint, p_b64 text, p_framed_reason text, p_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_done boolean;
begin
  update public.orders set cutout_at = now(), framed_reason = p_framed_reason, updated_at = now(),
         timings = timings || jsonb_build_object('cutout', p_ms)
   where id = p_id and cutout_at is null
  returning true into v_done;
  if v_done then
    insert into public.order_images (order_id, role, n, bytes, width, height)
    values (p_id, 'cutout', 0, decode(p_b64, 'base64'), 0, 0)
    on conflict do nothing;
    return jsonb_build_object('recorded', true);
  end if;
  if not exists (select 1 from public.orders where id = p_id) then return null; end if;
  return jsonb_build_object('recorded', false);
end
$$;

revoke execute on function public.order_cutout_done(bigint, text, text, integer) from public, anon, authenticated;
grant execute on function public.order_cutout_done(bigint, text, text, integer) to service_role;
