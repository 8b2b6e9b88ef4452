-- order_fail(id, status, error): failed (bad photo, Telegram 400) or undeliverable (403).
create or replace function public.order_fail(p_id bigint, p_status text, p_error text)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  if p_status not in ('failed', 'undeliverable') then
    raise exception 'order_fail: status must be failed or undeliverable' using errcode = '22023';
  end if;
  update public.orders set status = p_status, error = left(p_error, 2000), updated_at = now()
   where id = p_id and status in ('queued', 'rendering', 'awaiting_choice', 'rendered')
  returning * into v;
  if not found then select * into v from public.orders where id = p_id; end if;
  return to_jsonb(v);
end
$$;

revoke execute on function public.order_fail(bigint, text, text) from public, anon, authenticated;
grant execute on function public.order_fail(bigint, text, text) to service_role;
