-- Cards over HTTP (issue 8): API keys, per-key rate limit and daily quota, the API's
-- cards (one per job, deleted with it), their results, and the stats report.
-- The queue tables are untouched: an API card is a row of public.jobs (kind
-- 'api-card') plus a row here that says whose it is and what to render.

create table public.api_keys (
  id              bigint generated always as identity primary key,
  name            text        not null check (length(name) between 1 and 100),
  -- the first characters of the key ("nc_ab12cd34"), shown in listings and logs
  prefix          text        not null unique,
  -- hex sha-256 of the whole key; the key itself is shown once and never stored
  secret_hash     text        not null unique check (length(secret_hash) = 64),
  rate_per_minute integer     not null default 600 check (rate_per_minute > 0),
  daily_quota     integer     not null default 1000 check (daily_quota > 0),
  created_at      timestamptz not null default now(),
  last_used_at    timestamptz,
  revoked_at      timestamptz
);

-- Fixed one-minute windows per key: one row per key and minute.
create table public.api_rate (
  key_id       bigint      not null references public.api_keys (id) on delete cascade,
  window_start timestamptz not null,
  calls        integer     not null default 0,
  primary key (key_id, window_start)
);

-- Cards created per key and UTC day (the quota). Never decremented by retention.
create table public.api_usage (
  key_id bigint  not null references public.api_keys (id) on delete cascade,
  day    date    not null,
  cards  integer not null default 0,
  primary key (key_id, day)
);

-- One row per API card. Its id is the job's id, and it goes when the job goes
-- (retention, seed 002: prune() deletes the job, the cascade deletes this row and
-- its result).
create table public.api_cards (
  job_id      bigint      primary key references public.jobs (id) on delete cascade,
  key_id      bigint      not null references public.api_keys (id),
  title       text        not null,
  features    jsonb       not null default '[]'::jsonb check (jsonb_typeof(features) = 'array'),
  price       text,
  template    text        not null,
  -- the seller's photo until the card is stored, then null
  photo       bytea,
  -- where the result lives: 'db' (api_results) or 'supabase' (Storage object result_path)
  storage     text        check (storage in ('db', 'supabase')),
  result_path text,
  width       integer,
  height      integer,
  result_bytes integer,
  -- how many times a result was stored: exactly-once shows as 1
  renders     integer     not null default 0,
  created_at  timestamptz not null default now(),
  rendered_at timestamptz
);
create index api_cards_key_idx on public.api_cards (key_id, created_at);

-- Results kept in the database (the default: works on the embedded Postgres).
create table public.api_results (
  job_id bigint primary key references public.api_cards (job_id) on delete cascade,
  jpeg   bytea  not null
);

-- Storage objects whose card is gone; the app deletes them from the bucket
-- (api_prune() hands them out).
create table public.api_trash (
  path       text primary key,
  trashed_at timestamptz not null default now()
);

alter table public.api_keys    enable row level security;
alter table public.api_rate    enable row level security;
alter table public.api_usage   enable row level security;
alter table public.api_cards   enable row level security;
alter table public.api_results enable row level security;
alter table public.api_trash   enable row level security;
revoke all on public.api_keys, public.api_rate, public.api_usage, public.api_cards, public.api_results, public.api_trash
  from public, anon, authenticated;

create function public.api_cards_trash()
returns trigger
language plpgsql volatile security definer set search_path = ''
as $$
begin
  if old.storage = 'supabase' and old.result_path is not null then
    insert into public.api_trash (path) values (old.result_path) on conflict do nothing;
  end if;
  return old;
end
$$;
create trigger api_cards_trash after delete on public.api_cards
  for each row execute function public.api_cards_trash();

-- api_key_create(...): stores a new key's hash; returns the key row (no hash).
create function public.api_key_create(p_name text, p_prefix text, p_hash text, p_rate integer, p_quota integer)
returns jsonb
language sql volatile security definer set search_path = ''
as $$
  insert into public.api_keys (name, prefix, secret_hash, rate_per_minute, daily_quota)
  values (p_name, p_prefix, p_hash, coalesce(p_rate, 600), coalesce(p_quota, 1000))
  returning jsonb_build_object('id', id, 'name', name, 'prefix', prefix, 'rate_per_minute', rate_per_minute,
    'daily_quota', daily_quota, 'created_at', created_at, 'revoked_at', revoked_at)
$$;

create function public.api_key_list()
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

-- api_key_revoke(p_prefix): revokes by prefix (or numeric id); null when unknown.
create function public.api_key_revoke(p_prefix text)
returns jsonb
language sql volatile security definer set search_path = ''
as $$
  update public.api_keys set revoked_at = coalesce(revoked_at, now())
   where prefix = p_prefix or id = case when p_prefix ~ '^\d{1,18}$' then p_prefix::bigint end
  returning jsonb_build_object('id', id, 'name', name, 'prefix', prefix, 'revoked_at', revoked_at)
$$;

-- api_auth(p_hash): the key behind a request, and one call taken from its rate limit.
-- {result: 'ok'|'unknown'|'revoked'|'limited', key_id, retry_after}.
-- Locking: every request of one key updates the same api_rate row for the current
-- minute, so a key's requests serialise on that row for the length of this tiny
-- statement only (no other lock is held; the transaction is this one call). Keys
-- never contend with each other. last_used_at is written at most once a minute so
-- the key row is not a second hot spot.
create function public.api_auth(p_hash text)
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

-- api_card_create(p_key_id, p, p_photo_b64, p_idempotency_key): one card = quota taken,
-- job enqueued (kind 'api-card', fair per key) and its api_cards row, in one
-- transaction. An idempotency key (scoped to the API key) that exists returns the
-- existing card and takes no quota. Returns {result: 'created'|'exists'|'quota', ...}.
-- Locking: the quota row (key, day) is locked by its upsert until commit, so a key's
-- creates serialise on it: the quota can never be overshot. A repeat of an
-- idempotency key racing the first waits inside enqueue() on the unique index,
-- then finds the same job; its api_cards insert does nothing, and it gives back
-- the quota unit it took.
create function public.api_card_create(p_key_id bigint, p jsonb, p_photo_b64 text, p_idempotency_key text)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_idem  text := case when p_idempotency_key is null then null
                       else 'api:' || p_key_id || ':' || p_idempotency_key end;
  v_quota integer;
  v_day   date := (now() at time zone 'utc')::date;
  v_used  integer;
  v_job   public.jobs;
  v_new   boolean;
  v_pos   bigint;
  v_cap   bigint;
  v_avg   double precision;
begin
  if v_idem is not null then
    select j.* into v_job from public.jobs j join public.api_cards c on c.job_id = j.id
     where j.idempotency_key = v_idem and c.key_id = p_key_id;
    if found then
      return jsonb_build_object('result', 'exists', 'id', v_job.id, 'status', v_job.status,
        'position', null, 'estimated_seconds', null);
    end if;
  end if;

  select daily_quota into v_quota from public.api_keys where id = p_key_id;
  insert into public.api_usage as u (key_id, day, cards) values (p_key_id, v_day, 1)
  on conflict (key_id, day) do update set cards = u.cards + 1 where u.cards < v_quota
  returning cards into v_used;
  if v_used is null or v_used > v_quota then
    return jsonb_build_object('result', 'quota', 'limit', v_quota,
      'retry_after', greatest(1, ceil(extract(epoch from ((v_day + 1)::timestamp at time zone 'utc' - now())))::int));
  end if;

  select * into v_job from public.enqueue(jsonb_build_object(
    'kind', 'api-card', 'payload', jsonb_build_object('key', p_key_id),
    'idempotency_key', v_idem, 'fair_key', 'api:' || p_key_id));

  insert into public.api_cards (job_id, key_id, title, features, price, template, photo)
  values (v_job.id, p_key_id, p->>'title', coalesce(p->'features', '[]'::jsonb), p->>'price', p->>'template',
          decode(p_photo_b64, 'base64'))
  on conflict (job_id) do nothing
  returning true into v_new;

  if v_new is null then
    update public.api_usage set cards = cards - 1 where key_id = p_key_id and day = v_day;
    return jsonb_build_object('result', 'exists', 'id', v_job.id, 'status', v_job.status,
      'position', null, 'estimated_seconds', null);
  end if;

  -- Place in line (the claim's own order, over its partial index) and an estimate
  -- from the live workers' capacity and recent api-card durations.
  select count(*) + 1 into v_pos from public.jobs q
   where q.status = 'queued' and q.run_at <= now()
     and (q.priority, q.vtime, q.id) < (v_job.priority, v_job.vtime, v_job.id);
  select greatest(1, coalesce(sum(w.concurrency), 0)) into v_cap from public.workers w
   where w.last_heartbeat_at > now() - make_interval(secs => 2 * w.lease_seconds);
  select coalesce(sum(s.dur_sum_ms) / nullif(sum(s.succeeded), 0) / 1000.0, 1.0) into v_avg
    from public.job_stats s where s.kind = 'api-card' and s.bucket > now() - interval '1 hour';
  return jsonb_build_object('result', 'created', 'id', v_job.id, 'status', v_job.status, 'position', v_pos,
    'estimated_seconds', ceil(v_avg * (1 + (v_pos - 1) / v_cap::double precision))::int);
end
$$;

-- api_card_get(p_key_id, p_job_id): the card as its key sees it; null for anyone else's.
create function public.api_card_get(p_key_id bigint, p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('id', j.id, 'status', j.status, 'created_at', j.created_at, 'started_at', j.started_at,
    'completed_at', j.finished_at, 'attempts', j.attempts, 'error', j.last_error, 'template', c.template,
    'has_result', c.result_path is not null or c.storage = 'db')
  from public.api_cards c join public.jobs j on j.id = c.job_id
  where c.job_id = p_job_id and c.key_id = p_key_id
$$;

-- api_card_input(p_job_id): what the worker renders; null when the card is gone.
create function public.api_card_input(p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('title', c.title, 'features', c.features, 'price', c.price, 'template', c.template,
    'photo_b64', encode(c.photo, 'base64'), 'stored', c.storage is not null)
  from public.api_cards c where c.job_id = p_job_id
$$;

-- api_card_store(...): records the rendered result (bytes here, or a Storage path),
-- drops the input photo and counts the render. Null when the card is gone.
create function public.api_card_store(p_job_id bigint, p_storage text, p_path text, p_jpeg_b64 text,
  p_width integer, p_height integer, p_bytes integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_renders integer;
begin
  update public.api_cards set storage = p_storage, result_path = p_path, width = p_width, height = p_height,
         result_bytes = p_bytes, photo = null, renders = renders + 1, rendered_at = now()
   where job_id = p_job_id
  returning renders into v_renders;
  if v_renders is null then return null; end if;
  if p_storage = 'db' then
    insert into public.api_results (job_id, jpeg) values (p_job_id, decode(p_jpeg_b64, 'base64'))
    on conflict (job_id) do update set jpeg = excluded.jpeg;
  end if;
  return jsonb_build_object('renders', v_renders);
end
$$;

-- api_card_result(p_key_id, p_job_id): where the key's result is (and its bytes when
-- kept in the database); null for anyone else's card.
create function public.api_card_result(p_key_id bigint, p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('status', j.status, 'storage', c.storage, 'path', c.result_path,
    'jpeg_b64', (select encode(r.jpeg, 'base64') from public.api_results r where r.job_id = c.job_id and j.status = 'succeeded'))
  from public.api_cards c join public.jobs j on j.id = c.job_id
  where c.job_id = p_job_id and c.key_id = p_key_id
$$;

-- api_stats(p_key_id, p_days): seed 001's report for one key: per UTC day and status,
-- the count, and the average and p95 of created→finished seconds (finished jobs only).
create function public.api_stats(p_key_id bigint, p_days integer)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('day', d.day, 'status', d.status, 'count', d.n,
           'avg_seconds', d.avg_s, 'p95_seconds', d.p95_s) order by d.day desc, d.status), '[]'::jsonb)
  from (
    select to_char((j.created_at at time zone 'utc')::date, 'YYYY-MM-DD') as day, j.status::text as status,
           count(*) as n,
           round(avg(extract(epoch from j.finished_at - j.created_at))::numeric, 3) as avg_s,
           round((percentile_cont(0.95) within group (order by extract(epoch from j.finished_at - j.created_at)))::numeric, 3) as p95_s
      from public.api_cards c join public.jobs j on j.id = c.job_id
     where c.key_id = p_key_id
       and c.created_at >= (now() at time zone 'utc')::date - (greatest(p_days, 1) - 1)
     group by 1, 2
  ) d
$$;

-- api_prune(): old rate windows and usage rows; hands out (and forgets) up to 500
-- Storage paths whose cards were deleted with their jobs, for the app to remove.
create function public.api_prune()
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_paths jsonb;
begin
  delete from public.api_rate where window_start < now() - interval '10 minutes';
  delete from public.api_usage where day < (now() at time zone 'utc')::date - 40;
  with taken as (
    delete from public.api_trash t where t.path in (select x.path from public.api_trash x limit 500 for update skip locked)
    returning t.path
  )
  select coalesce(jsonb_agg(path), '[]'::jsonb) into v_paths from taken;
  return v_paths;
end
$$;

revoke execute on function public.api_cards_trash(), public.api_key_create(text, text, text, integer, integer),
  public.api_key_list(), public.api_key_revoke(text), public.api_auth(text),
  public.api_card_create(bigint, jsonb, text, text), public.api_card_get(bigint, bigint),
  public.api_card_input(bigint), public.api_card_store(bigint, text, text, text, integer, integer, integer),
  public.api_card_result(bigint, bigint), public.api_stats(bigint, integer), public.api_prune()
  from public, anon, authenticated;
grant execute on function public.api_cards_trash(), public.api_key_create(text, text, text, integer, integer),
  public.api_key_list(), public.api_key_revoke(text), public.api_auth(text),
  public.api_card_create(bigint, jsonb, text, text), public.api_card_get(bigint, bigint),
  public.api_card_input(bigint), public.api_card_store(bigint, text, text, text, integer, integer, integer),
  public.api_card_result(bigint, bigint), public.api_stats(bigint, integer), public.api_prune()
  to service_role;
