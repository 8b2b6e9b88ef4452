-- order_by_key(key): the order made from this idempotency key (null when none).
create or replace function public.order_by_key(p_key text)
returns jsonb
language sql stable security definer set search_path = ''
as $$ select to_jsonb(o) from public.orders o where o.idempotency_key = p_key $$;

revoke execute on function public.order_by_key(text) from public, anon, authenticated;
grant execute on function public.order_by_key(text) to service_role;
