-- api_key_revoke(p_prefix): revokes by prefix (or numeric id); null when unknown.
create or replace function public.api_key_revoke(p_prefix text)
returns jsonb
language sql volatile security definer set search_path = ''
as $$
  update public.api_keys set revoked_at = coalesce(revoked_at, now())
   where prefix = p_prefix or id = case when p_prefix ~ '^\d{1,18}$' then p_prefix::bigint end
  returning jsonb_build_object('id', id, 'name', name, 'prefix', prefix, 'revoked_at', revoked_at)
$$;

revoke execute on function public.api_key_revoke(text) from public, anon, authenticated;
grant execute on function public.api_key_revoke(text) to service_role;
