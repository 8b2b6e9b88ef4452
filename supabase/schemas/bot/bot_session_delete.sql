-- bot_session_delete(user): forget the user's session.
create or replace function public.bot_session_delete(p_user bigint)
returns void
language sql volatile security definer set search_path = ''
as $$ delete from public.bot_sessions where user_id = p_user $$;

revoke execute on function public.bot_session_delete(bigint) from public, anon, authenticated;
grant execute on function public.bot_session_delete(bigint) to service_role;
