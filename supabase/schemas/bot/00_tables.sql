-- Bot plumbing: conversation sessions, processed Telegram updates (dedupe), the polling
-- leader lease and the shared AI rate limiter (with its default limits); RLS and grants.

-- Conversation state per Telegram user (grammY session data), so a restart or the
-- next update landing on another instance continues the same conversation.
create table public.bot_sessions (
  user_id    bigint primary key,
  data       jsonb       not null,
  updated_at timestamptz not null default now()
);

-- update_id deduplication: Telegram retries a webhook delivery it thinks failed, and
-- several instances sit behind one URL. Rows older than a day are pruned.
create table public.processed_updates (
  update_id    bigint primary key,
  processed_at timestamptz not null default now()
);
create index processed_updates_at_idx on public.processed_updates (processed_at);

-- Long-polling leader in RPC-only mode (no session for an advisory lock): a lease row.
create table public.leader_leases (
  name       text primary key,
  holder     text        not null,
  expires_at timestamptz not null
);

-- Shared rate limiter for the AI provider (seed 002 defaults), fixed windows.
create table public.rate_limits (
  key            text    not null,
  window_seconds integer not null check (window_seconds > 0),
  max_calls      integer not null check (max_calls > 0),
  primary key (key, window_seconds)
);
create table public.rate_usage (
  key            text        not null,
  window_seconds integer     not null,
  window_start   timestamptz not null,
  calls          integer     not null default 0,
  primary key (key, window_seconds, window_start)
);
-- The default limits. Data rather than schema: `supabase db diff` does not carry rows, so a
-- migration that changes them is written by hand (the equality test compares these rows too).
insert into public.rate_limits (key, window_seconds, max_calls) values
  ('ai', 60, 100), ('ai', 3600, 5000), ('ai', 86400, 100000);

alter table public.bot_sessions      enable row level security;
alter table public.processed_updates enable row level security;
alter table public.leader_leases     enable row level security;
alter table public.rate_limits       enable row level security;
alter table public.rate_usage        enable row level security;
revoke all on public.bot_sessions, public.processed_updates, public.leader_leases, public.rate_limits, public.rate_usage
  from public, anon, authenticated;
