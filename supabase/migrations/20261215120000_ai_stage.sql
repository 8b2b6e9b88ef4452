-- issue 15: the AI stage's key pool (ai_keys, ai_key_take, ai_key_cooldown) and the ledger of
-- paid calls (ai_calls, ai_call_claim, ai_call_done, ai_call_release, ai_cost_stats, ai_prune).
-- Copied from supabase/schemas/ai/.

-- The AI stage's tables: the pool of provider keys (issue 15 item 3) and the ledger of
-- paid calls that makes each call exactly-once work; RLS and grants.

-- One row per provider key, named by its fingerprint (sha256 of the key, first 16 hex
-- digits): the key itself lives only in the instances' environment, never here.
-- Usage per window is counted in rate_usage under 'ai-key:<id>' against the limit rows
-- of rate_limits (the 'ai' rows: seed 002's 100/min, 5,000/h, 100,000/day per key).
create table public.ai_keys (
  id             text        primary key check (id ~ '^[0-9a-f]{16}$'),
  -- a 429 with Retry-After rests the key until then
  cooldown_until timestamptz,
  last_used_at   timestamptz,
  calls          bigint      not null default 0,
  added_at       timestamptz not null default now()
);

-- One row per paid call, by a deterministic key (order key, variant, stage). A worker
-- claims the row (holder + lease) before calling the provider, so racing attempts for the
-- same variant wait for the holder instead of paying again, and records the answer before
-- anything uses it, so a later attempt gets the recorded result without a call.
create table public.ai_calls (
  call_key    text        primary key,
  order_key   text        not null,
  state       text        not null default 'claimed' check (state in ('claimed', 'done', 'failed')),
  holder      text,
  lease_until timestamptz,
  -- times a holder took the claim (a takeover after an expired lease counts)
  claims      integer     not null default 1,
  -- provider answers recorded for this call (more than one = paid twice)
  paid_calls  integer     not null default 0,
  outcome     text,
  result      bytea,
  cost_usd    numeric(14, 6) not null default 0,
  key_id      text,
  model       text,
  created_at  timestamptz not null default now(),
  recorded_at timestamptz
);
create index ai_calls_order_key on public.ai_calls (order_key);

alter table public.ai_keys  enable row level security;
alter table public.ai_calls enable row level security;
revoke all on public.ai_keys, public.ai_calls from public, anon, authenticated;

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

-- ai_call_claim(call, order, holder, lease): before a paid call. Returns
--   {state: 'done', image_b64, cost_usd}  recorded already: use it, do not call
--   {state: 'failed', outcome}            answered without a usable image: do not call again
--   {state: 'busy', retry_in_ms}          another attempt holds the claim and may be calling
--   {state: 'claimed', claims}            this holder may call; `claims` > 1 = a takeover
-- A claim whose lease ran out (its holder died or hung) is taken over.
create or replace function public.ai_call_claim(p_call_key text, p_order_key text, p_holder text, p_lease_seconds integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  r public.ai_calls;
begin
  insert into public.ai_calls (call_key, order_key, holder, lease_until)
  values (p_call_key, p_order_key, p_holder, now() + make_interval(secs => p_lease_seconds))
  on conflict (call_key) do nothing;
  if found then
    return jsonb_build_object('state', 'claimed', 'claims', 1);
  end if;
  -- The row exists. Locking: FOR UPDATE makes racing claimers decide one at a time (a
  -- concurrent insert of the same key already waited on the row above), so of several
  -- attempts that find the lease expired exactly one takes the claim; the others see it
  -- held with a fresh lease and wait.
  select * into r from public.ai_calls where call_key = p_call_key for update;
  if r.state = 'done' then
    return jsonb_build_object('state', 'done', 'image_b64', translate(encode(r.result, 'base64'), E'\n', ''), 'cost_usd', r.cost_usd);
  elsif r.state = 'failed' then
    return jsonb_build_object('state', 'failed', 'outcome', r.outcome);
  elsif r.holder is distinct from p_holder and r.lease_until > now() then
    return jsonb_build_object('state', 'busy',
      'retry_in_ms', ceil(extract(epoch from r.lease_until - now()) * 1000));
  end if;
  update public.ai_calls
     set holder = p_holder, lease_until = now() + make_interval(secs => p_lease_seconds),
         claims = claims + case when r.holder is not distinct from p_holder then 0 else 1 end
   where call_key = p_call_key
  returning * into r;
  return jsonb_build_object('state', 'claimed', 'claims', r.claims);
end
$$;

revoke execute on function public.ai_call_claim(text, text, text, integer) from public, anon, authenticated;
grant execute on function public.ai_call_claim(text, text, text, integer) to service_role;

-- ai_call_done(call, holder, image, p): record a provider's answer, before the caller
-- uses it. `p` = {outcome, cost_usd, key_id, model}; `image` null = answered without a
-- usable image (no image, refusal, timeout after sending), which is final for this call.
-- A second answer for the same call (a takeover raced a holder that was still alive) is
-- counted and its cost added, and the first image stays the result (a failed record is
-- upgraded by a later image). Returns {state, first} (first = this answer is the result).
create or replace function public.ai_call_done(p_call_key text, p_holder text, p_image_b64 text, p jsonb)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  r      public.ai_calls;
  v_cost numeric := coalesce((p ->> 'cost_usd')::numeric, 0);
begin
  insert into public.ai_calls (call_key, order_key, holder)
  values (p_call_key, coalesce(p ->> 'order_key', p_call_key), p_holder)
  on conflict (call_key) do nothing;
  select * into r from public.ai_calls where call_key = p_call_key for update;
  if r.state = 'done' or (r.state = 'failed' and p_image_b64 is null) then
    update public.ai_calls set paid_calls = paid_calls + 1, cost_usd = cost_usd + v_cost where call_key = p_call_key;
    return jsonb_build_object('state', r.state, 'first', false);
  end if;
  update public.ai_calls
     set state = case when p_image_b64 is null then 'failed' else 'done' end,
         result = decode(p_image_b64, 'base64'), outcome = p ->> 'outcome',
         cost_usd = cost_usd + v_cost, paid_calls = paid_calls + 1,
         key_id = p ->> 'key_id', model = p ->> 'model',
         holder = null, lease_until = null, recorded_at = now()
   where call_key = p_call_key
  returning * into r;
  return jsonb_build_object('state', r.state, 'first', true);
end
$$;

revoke execute on function public.ai_call_done(text, text, text, jsonb) from public, anon, authenticated;
grant execute on function public.ai_call_done(text, text, text, jsonb) to service_role;

-- ai_call_release(call, holder): give a claim back without an answer (nothing was paid:
-- the limiter had no call left, the provider said 429 or 5xx, or the request never left),
-- so a later attempt may call. Only the holder's own open claim is released.
create or replace function public.ai_call_release(p_call_key text, p_holder text)
returns void
language sql volatile security definer set search_path = ''
as $$
  update public.ai_calls set holder = null, lease_until = null
   where call_key = p_call_key and holder = p_holder and state = 'claimed'
$$;

revoke execute on function public.ai_call_release(text, text) from public, anon, authenticated;
grant execute on function public.ai_call_release(text, text) to service_role;

-- ai_cost_stats(api_key): what the AI provider reported it charged: the total, the number
-- of orders that made paid calls and the average per such order, the paid calls and the
-- calls (variants) they served. With an API key id: that key's cards only (order key
-- 'api:<job id>'); without: everything.
create or replace function public.ai_cost_stats(p_api_key_id bigint default null)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'total_usd', coalesce(sum(c.cost_usd), 0),
    'orders', count(distinct c.order_key) filter (where c.paid_calls > 0),
    'avg_per_order_usd', round(coalesce(sum(c.cost_usd), 0)
      / nullif(count(distinct c.order_key) filter (where c.paid_calls > 0), 0), 6),
    'paid_calls', coalesce(sum(c.paid_calls), 0),
    'calls', count(*) filter (where c.paid_calls > 0))
  from public.ai_calls c
  where p_api_key_id is null
     or c.order_key in (select 'api:' || a.job_id from public.api_cards a where a.key_id = p_api_key_id)
$$;

revoke execute on function public.ai_cost_stats(bigint) from public, anon, authenticated;
grant execute on function public.ai_cost_stats(bigint) to service_role;

-- ai_prune(hours, limit): retention of the paid-call ledger's image bytes. A backdrop is
-- needed only while its order is being made (a retried job reuses it); after `hours` the
-- bytes go and the row stays (its cost keeps counting in ai_cost_stats; a claim of it
-- then finds no image and that variant gets a local backdrop). Small SKIP LOCKED batches,
-- like the queue's prune. Returns the rows cleared.
create or replace function public.ai_prune(p_bytes_hours integer default 24, p_limit integer default 500)
returns integer
language sql volatile security definer set search_path = ''
as $$
  with old as (
    select c.call_key from public.ai_calls c
     where c.result is not null and c.recorded_at < now() - make_interval(hours => p_bytes_hours)
     limit p_limit for update skip locked
  ), cleared as (
    update public.ai_calls c set result = null from old where c.call_key = old.call_key returning 1
  )
  select count(*)::integer from cleared
$$;

revoke execute on function public.ai_prune(integer, integer) from public, anon, authenticated;
grant execute on function public.ai_prune(integer, integer) to service_role;
