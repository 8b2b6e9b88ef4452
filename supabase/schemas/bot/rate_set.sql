-- rate_set(key, window, max): configure a limit (config overrides the seeded defaults).
create or replace function public.rate_set(p_key text, p_window_seconds integer, p_max_calls integer)
returns void
language sql volatile security definer set search_path = ''
as $$
  insert into public.rate_limits (key, window_seconds, max_calls) values (p_key, p_window_seconds, p_max_calls)
  on conflict (key, window_seconds) do update set max_calls = excluded.max_calls
$$;

revoke execute on function public.rate_set(text, integer, integer) from public, anon, authenticated;
grant execute on function public.rate_set(text, integer, integer) to service_role;
