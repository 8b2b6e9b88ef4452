-- order_photo(unique_id): the stored photo as base64; null when none (never stored, or
-- pruned): the render job then downloads it from Telegram.
create or replace function public.order_photo(p_unique_id text)
returns text
language sql stable security definer set search_path = ''
as $$ select encode(p.bytes, 'base64') from public.order_photos p where p.unique_id = p_unique_id $$;

revoke execute on function public.order_photo(text) from public, anon, authenticated;
grant execute on function public.order_photo(text) to service_role;
