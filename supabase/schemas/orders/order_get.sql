-- order_get(id): one order as jsonb (null when none).
create or replace function public.order_get(p_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$ select to_jsonb(o) from public.orders o where o.id = p_id $$;

revoke execute on function public.order_get(bigint) from public, anon, authenticated;
grant execute on function public.order_get(bigint) to service_role;
