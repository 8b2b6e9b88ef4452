-- Bot plumbing: sessions, update_id dedupe, the polling leader lease, the shared
-- rate limiter, and retention of these tables. One function per operation.

create function public.bot_session_get(p_user bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$ select s.data from public.bot_sessions s where s.user_id = p_user $$;

create function public.bot_session_put(p_user bigint, p_data jsonb)
returns void
language sql volatile security definer set search_path = ''
as $$
  insert into public.bot_sessions (user_id, data, updated_at) values (p_user, p_data, now())
  on conflict (user_id) do update set data = excluded.data, updated_at = excluded.updated_at
$$;

create function public.bot_session_delete(p_user bigint)
returns void
language sql volatile security definer set search_path = ''
as $$ delete from public.bot_sessions where user_id = p_user $$;

-- update_claim(update_id): true the first time an update_id is seen, false afterwards.
-- The primary key decides between concurrent claimers (a second insert of the same id
-- waits for the first transaction, then does nothing).
create function public.update_claim(p_update_id bigint)
returns boolean
language plpgsql volatile security definer set search_path = ''
as $$
begin
  insert into public.processed_updates (update_id) values (p_update_id) on conflict do nothing;
  return found;
end
$$;

-- update_release(update_id): handling failed; let Telegram's retry handle it again.
create function public.update_release(p_update_id bigint)
returns void
language sql volatile security definer set search_path = ''
as $$ delete from public.processed_updates where update_id = p_update_id $$;

-- leader_try(name, holder, ttl): take or extend the lease; true while holder has it.
-- The conditional upsert is atomic: of two instances racing for an expired lease,
-- the second's update re-checks the row the first just wrote and finds it taken.
create function public.leader_try(p_name text, p_holder text, p_ttl_seconds integer)
returns boolean
language plpgsql volatile security definer set search_path = ''
as $$
begin
  insert into public.leader_leases as l (name, holder, expires_at)
  values (p_name, p_holder, now() + make_interval(secs => p_ttl_seconds))
  on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
   where l.holder = excluded.holder or l.expires_at < now();
  return found;
end
$$;

create function public.leader_release(p_name text, p_holder text)
returns void
language sql volatile security definer set search_path = ''
as $$ delete from public.leader_leases where name = p_name and holder = p_holder $$;

-- rate_take(key, cost): take `cost` calls from every window of `key` (all or none).
-- Returns {ok: true} or {ok: false, retry_in_ms} = until the fullest window rolls over.
-- The limit rows are locked in a fixed order, so concurrent takers across instances
-- serialise here and no window is ever overdrawn.
create function public.rate_take(p_key text, p_cost integer default 1)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  l       record;
  v_start timestamptz;
  v_calls integer;
  v_wait  double precision := 0;
begin
  perform 1 from public.rate_limits where key = p_key order by window_seconds for update;
  for l in select * from public.rate_limits where key = p_key order by window_seconds loop
    v_start := to_timestamp(floor(extract(epoch from now()) / l.window_seconds) * l.window_seconds);
    select u.calls into v_calls from public.rate_usage u
     where u.key = p_key and u.window_seconds = l.window_seconds and u.window_start = v_start;
    if coalesce(v_calls, 0) + p_cost > l.max_calls then
      v_wait := greatest(v_wait, extract(epoch from (v_start + make_interval(secs => l.window_seconds) - now())) * 1000);
    end if;
  end loop;
  if v_wait > 0 then
    return jsonb_build_object('ok', false, 'retry_in_ms', ceil(v_wait));
  end if;
  insert into public.rate_usage as u (key, window_seconds, window_start, calls)
  select p_key, r.window_seconds,
         to_timestamp(floor(extract(epoch from now()) / r.window_seconds) * r.window_seconds), p_cost
    from public.rate_limits r where r.key = p_key
  on conflict (key, window_seconds, window_start) do update set calls = u.calls + excluded.calls;
  return jsonb_build_object('ok', true);
end
$$;

-- rate_set(key, window, max): configure a limit (config overrides the seeded defaults).
create function public.rate_set(p_key text, p_window_seconds integer, p_max_calls integer)
returns void
language sql volatile security definer set search_path = ''
as $$
  insert into public.rate_limits (key, window_seconds, max_calls) values (p_key, p_window_seconds, p_max_calls)
  on conflict (key, window_seconds) do update set max_calls = excluded.max_calls
$$;

-- bot_prune(): retention for the bot's tables, in bounded batches.
create function public.bot_prune()
returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare v_count integer;
begin
  delete from public.processed_updates p
   where p.update_id in (select x.update_id from public.processed_updates x
                          where x.processed_at < now() - interval '1 day' limit 10000);
  get diagnostics v_count = row_count;
  delete from public.order_quota where day < (now() at time zone 'utc')::date - 2;
  delete from public.rate_usage where window_start < now() - interval '2 days';
  delete from public.leader_leases where expires_at < now() - interval '1 day';
  -- history re-sends use Telegram's file_ids; the bytes are only needed until delivery
  delete from public.order_cards c using public.orders o
   where o.id = c.order_id and o.status in ('sent', 'canceled', 'failed', 'undeliverable')
     and o.updated_at < now() - interval '7 days';
  return v_count;
end
$$;

revoke execute on function
  public.bot_session_get(bigint), public.bot_session_put(bigint, jsonb), public.bot_session_delete(bigint),
  public.update_claim(bigint), public.update_release(bigint),
  public.leader_try(text, text, integer), public.leader_release(text, text),
  public.rate_take(text, integer), public.rate_set(text, integer, integer), public.bot_prune()
  from public, anon, authenticated;
grant execute on function
  public.bot_session_get(bigint), public.bot_session_put(bigint, jsonb), public.bot_session_delete(bigint),
  public.update_claim(bigint), public.update_release(bigint),
  public.leader_try(text, text, integer), public.leader_release(text, text),
  public.rate_take(text, integer), public.rate_set(text, integer, integer), public.bot_prune()
  to service_role;
