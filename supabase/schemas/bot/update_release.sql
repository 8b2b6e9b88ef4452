-- update_release(update_id): handling failed; let Telegram's retry handle it again.
create or replace function public.update_release(p_update_id bigint)
returns void
language sql volatile security definer set search_path = ''
as $$ delete from public.processed_updates where update_id = p_update_id $$;

revoke execute on function public.update_release(bigint) from public, anon, authenticated;
grant execute on function public.update_release(bigint) to service_role;
