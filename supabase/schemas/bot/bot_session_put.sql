-- bot_session_put(user, data): store the user's session (upsert).
create or replace function public.bot_session_put(p_user bigint, p_data jsonb)
returns void
language sql volatile security definer set search_path = ''
as $$
  insert into public.bot_sessions (user_id, data, updated_at) values (p_user, p_data, now())
  on conflict (user_id) do update set data = excluded.data, updated_at = excluded.updated_at
$$;

revoke execute on function public.bot_session_put(bigint, jsonb) from public, anon, authenticated;
grant execute on function public.bot_session_put(bigint, jsonb) to service_role;
