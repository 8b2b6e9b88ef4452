-- api_auth(p_hash): the key behind a request, and one call taken from its rate limit.
-- {result: 'ok'|'unknown'|'revoked'|'limited', key_id, retry_after}.
-- Locking: every request of one key updates the same api_rate row for the current
-- minute, so a key's requests serialise on that row for the length of this tiny
-- statement only (no other lock is held; the transaction is this one call). Keys
-- never contend with each other. last_used_at is written at most once a minute so
-- the key row is not a second hot spot.
create or replace function public.api_auth(p_hash text)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_key   public.api_keys;
  v_win   timestamptz := date_trunc('minute', now());
  v_calls integer;
begin
  select * into v_key from public.api_keys where secret_hash = p_hash;
  if not found then return jsonb_build_object('result', 'unknown'); end if;
  if v_key.revoked_at is not null then return jsonb_build_object('result', 'revoked', 'key_id', v_key.id); end if;
  insert into public.api_rate as r (key_id, window_start, calls) values (v_key.id, v_win, 1)
  on conflict (key_id, window_start) do update set calls = r.calls + 1
  returning calls into v_calls;
  if v_calls > v_key.rate_per_minute then
    return jsonb_build_object('result', 'limited', 'key_id', v_key.id,
      'retry_after', greatest(1, ceil(extract(epoch from (v_win + interval '1 minute' - now())))::int));
  end if;
  if v_key.last_used_at is null or v_key.last_used_at < now() - interval '1 minute' then
    update public.api_keys set last_used_at = now() where id = v_key.id;
  end if;
  return jsonb_build_object('result', 'ok', 'key_id', v_key.id);
end
$$;

revoke execute on function public.api_auth(text) from public, anon, authenticated;
grant execute on function public.api_auth(text) to service_role;
