-- ai_key_take(keys, limits): pick the key of the pool `keys` (a JSON array of fingerprints) with the most
-- headroom and take one call from every window of it, all in one statement's transaction.
-- Headroom of a key = the smallest share left over its windows (limits: the rate_limits
-- rows named `p_limits`; the key's usage is counted in rate_usage as '<p_limits>-key:<id>'); ties go to the least recently used key, so an idle pool is used
-- round robin. A key resting after a 429 is skipped. Returns {ok: true, key_id} or
-- {ok: false, retry_in_ms} = until the first key frees up.
create or replace function public.ai_key_take(p_keys jsonb, p_limits text default 'ai')
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_keys     text[] := array(select jsonb_array_elements_text(p_keys));
  k          record;
  l          record;
  v_start    timestamptz;
  v_calls    integer;
  v_room     double precision;
  v_key_wait double precision;
  v_wait     double precision;
  v_best     text;
  v_best_room double precision := -1;
begin
  if coalesce(cardinality(v_keys), 0) = 0 then
    return jsonb_build_object('ok', false, 'retry_in_ms', 0);
  end if;
  -- Instances register the keys they hold (by fingerprint) as they use them.
  insert into public.ai_keys (id) select distinct u from unnest(v_keys) u on conflict (id) do nothing;
  -- Locking: the pool's rows are locked FOR UPDATE in id order (one order for every
  -- caller, so overlapping pools never deadlock) and held until this function's
  -- transaction commits. Concurrent takers on any instance therefore run the read-pick-
  -- count below one after another: the usage each one reads already includes every
  -- earlier taker's call, so no key's window is ever overdrawn and two takers cannot both
  -- see the same last free call. The lock is held for one short transaction, no I/O.
  perform 1 from public.ai_keys where id = any(v_keys) order by id for update;
  for k in select a.id, a.cooldown_until from public.ai_keys a
            where a.id = any(v_keys) order by a.last_used_at nulls first, a.id loop
    v_key_wait := 0;
    v_room := 1;
    if k.cooldown_until > now() then
      v_key_wait := extract(epoch from k.cooldown_until - now()) * 1000;
    else
      for l in select r.window_seconds, r.max_calls from public.rate_limits r where r.key = p_limits loop
        v_start := to_timestamp(floor(extract(epoch from now()) / l.window_seconds) * l.window_seconds);
        select u.calls into v_calls from public.rate_usage u
         where u.key = p_limits || '-key:' || k.id and u.window_seconds = l.window_seconds and u.window_start = v_start;
        v_calls := coalesce(v_calls, 0);
        if v_calls + 1 > l.max_calls then
          v_key_wait := greatest(v_key_wait,
            extract(epoch from (v_start + make_interval(secs => l.window_seconds) - now())) * 1000);
        end if;
        v_room := least(v_room, (l.max_calls - v_calls)::double precision / l.max_calls);
      end loop;
    end if;
    if v_key_wait > 0 then
      v_wait := least(coalesce(v_wait, v_key_wait), v_key_wait);
    elsif v_room > v_best_room then
      v_best := k.id;
      v_best_room := v_room;
    end if;
  end loop;
  if v_best is null then
    return jsonb_build_object('ok', false, 'retry_in_ms', ceil(greatest(coalesce(v_wait, 0), 1)));
  end if;
  insert into public.rate_usage as u (key, window_seconds, window_start, calls)
  select p_limits || '-key:' || v_best, r.window_seconds,
         to_timestamp(floor(extract(epoch from now()) / r.window_seconds) * r.window_seconds), 1
    from public.rate_limits r where r.key = p_limits
  on conflict (key, window_seconds, window_start) do update set calls = u.calls + 1;
  update public.ai_keys set last_used_at = clock_timestamp(), calls = calls + 1 where id = v_best;
  return jsonb_build_object('ok', true, 'key_id', v_best);
end
$$;

revoke execute on function public.ai_key_take(jsonb, text) from public, anon, authenticated;
grant execute on function public.ai_key_take(jsonb, text) to service_role;
