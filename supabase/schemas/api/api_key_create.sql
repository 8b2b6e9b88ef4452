-- api_key_create(...): stores a new key's hash; returns the key row (no hash).
create or replace function public.api_key_create(p_name text, p_prefix text, p_hash text, p_rate integer, p_quota integer)
returns jsonb
language sql volatile security definer set search_path = ''
as $$
  insert into public.api_keys (name, prefix, secret_hash, rate_per_minute, daily_quota)
  values (p_name, p_prefix, p_hash, coalesce(p_rate, 600), coalesce(p_quota, 1000))
  returning jsonb_build_object('id', id, 'name', name, 'prefix', prefix, 'rate_per_minute', rate_per_minute,
    'daily_quota', daily_quota, 'created_at', created_at, 'revoked_at', revoked_at)
$$;

revoke execute on function public.api_key_create(text, text, text, integer, integer) from public, anon, authenticated;
grant execute on function public.api_key_create(text, text, text, integer, integer) to service_role;
