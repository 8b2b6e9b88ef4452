-- api_key_list(): every key (no hashes) with the cards it made today.
create or replace function public.api_key_list()
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('id', k.id, 'name', k.name, 'prefix', k.prefix,
    'rate_per_minute', k.rate_per_minute, 'daily_quota', k.daily_quota, 'created_at', k.created_at,
    'last_used_at', k.last_used_at, 'revoked_at', k.revoked_at,
    'cards_today', coalesce((select u.cards from public.api_usage u where u.key_id = k.id and u.day = (now() at time zone 'utc')::date), 0))
    order by k.id), '[]'::jsonb)
  from public.api_keys k
$$;

revoke execute on function public.api_key_list() from public, anon, authenticated;
grant execute on function public.api_key_list() to service_role;
