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
