-- bot_session_get(user): the user's grammY session data (null when none).
create or replace function public.bot_session_get(p_user bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$ select s.data from public.bot_sessions s where s.user_id = p_user $$;

revoke execute on function public.bot_session_get(bigint) from public, anon, authenticated;
grant execute on function public.bot_session_get(bigint) to service_role;
