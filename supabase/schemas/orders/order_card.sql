-- order_card(id): the stored JPEG as base64 (null when none).
create or replace function public.order_card(p_id bigint)
returns text
language sql stable security definer set search_path = ''
as $$ select encode(c.jpeg, 'base64') from public.order_cards c where c.order_id = p_id $$;

revoke execute on function public.order_card(bigint) from public, anon, authenticated;
grant execute on function public.order_card(bigint) to service_role;
