-- Queue tables: jobs, workers, the fairness clock, the stats rollup; their indexes,
-- RLS and grants. The functions that read and write them are the other files here.

create type public.job_status as enum ('queued', 'running', 'succeeded', 'dead', 'canceled');

create table public.jobs (
  id               bigint generated always as identity primary key,
  kind             text        not null check (length(kind) between 1 and 64),
  payload          jsonb       not null default '{}'::jsonb,
  status           public.job_status not null default 'queued',
  -- lower runs first; 0 is normal, negative is urgent
  priority         smallint    not null default 0,
  run_at           timestamptz not null default now(),
  -- weighted-fair virtual time, fixed at enqueue (see enqueue()); claim orders by it
  vtime            timestamptz not null default now(),
  fair_key         text,
  attempts         integer     not null default 0,
  max_attempts     integer     not null default 5 check (max_attempts >= 1),
  lease_owner      text,
  lease_expires_at timestamptz,
  last_error       text,
  idempotency_key  text,
  result           jsonb,
  created_at       timestamptz not null default now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  -- a finished job that its feature still needs is kept until then, past the usual
  -- retention (prune()): e.g. an API card waiting for its seller's choice of variant
  keep_until       timestamptz
) with (fillfactor = 70); -- room on the page for HOT updates: a job row is updated 2-3 times

-- Every status change (claim, complete) rewrites the row into every index whose
-- predicate it matches, so the table carries as few indexes as the queries need.
-- Unique only where a key is given: NULL keys (most jobs) would otherwise add an index
-- entry on every update.
create unique index jobs_idempotency_key_idx on public.jobs (idempotency_key) where idempotency_key is not null;

-- Claim path: only queued rows, in exactly the claim's ORDER BY.
create index jobs_claim_idx on public.jobs (priority, vtime, id) where status = 'queued';
-- /queue's queued/scheduled counts and oldest age: an index-only scan of queued rows by
-- run_at (a row leaves it when claimed, so claims add nothing to it).
create index jobs_queued_run_at_idx on public.jobs (run_at) where status = 'queued';
-- Crash recovery and the running count: running rows only. (Heartbeat, complete, fail
-- and release name their job ids and go by the primary key.)
create index jobs_running_lease_idx on public.jobs (lease_expires_at) where status = 'running';
-- Counts and redrive of dead rows; retention of finished rows.
create index jobs_dead_idx on public.jobs (kind, finished_at) where status = 'dead';
create index jobs_finished_idx on public.jobs (finished_at) where status in ('succeeded', 'dead', 'canceled');

create table public.workers (
  id                text primary key,
  concurrency       integer     not null,
  in_flight         integer     not null default 0,
  lease_seconds     integer     not null,
  meta              jsonb       not null default '{}'::jsonb,
  started_at        timestamptz not null default now(),
  last_heartbeat_at timestamptz not null default now()
);

-- Last virtual time handed out per fair key (one row per user).
create table public.fair_clock (
  fair_key text primary key,
  vtime    timestamptz not null
);

-- Per-minute, per-kind, per-worker rollup written by complete()/fail(), so that
-- /queue's 24 h figures read ~1440 small rows instead of millions of jobs.
-- Keyed by worker so instances never contend on one row.
create table public.job_stats (
  bucket      timestamptz not null,
  kind        text        not null,
  worker      text        not null,
  succeeded   integer     not null default 0,
  dur_sum_ms  double precision not null default 0,
  -- histogram of durations: bucket i counts durations in [2^(i-1), 2^i) ms, i = 0..23
  dur_hist    integer[]   not null default array_fill(0, array[24]),
  primary key (bucket, kind, worker)
);

-- Supabase exposes public tables over PostgREST: RLS with no policies means
-- anon/authenticated read nothing; the app only goes through the functions.
alter table public.jobs       enable row level security;
alter table public.workers    enable row level security;
alter table public.fair_clock enable row level security;
alter table public.job_stats  enable row level security;
revoke all on public.jobs, public.workers, public.fair_clock, public.job_stats from public, anon, authenticated;
