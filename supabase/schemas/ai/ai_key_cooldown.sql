-- ai_key_cooldown(key, ms): rest a key of the pool for `ms` (the provider's 429
-- Retry-After); ai_key_take skips it until then. A shorter rest never shortens a longer one.
create or replace function public.ai_key_cooldown(p_key text, p_ms integer)
returns void
language sql volatile security definer set search_path = ''
as $$
  update public.ai_keys
     set cooldown_until = greatest(coalesce(cooldown_until, now()), now() + make_interval(secs => greatest(p_ms, 0) / 1000.0))
   where id = p_key
$$;

revoke execute on function public.ai_key_cooldown(text, integer) from public, anon, authenticated;
grant execute on function public.ai_key_cooldown(text, integer) to service_role;
