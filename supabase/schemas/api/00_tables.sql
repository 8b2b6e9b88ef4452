-- Cards over HTTP (issue 8): API keys, per-key rate limit and daily quota, the API's
-- cards (one per job, deleted with it), their results and the Storage trash; RLS and
-- grants. An API card is a row of public.jobs (kind 'api-card') plus a row here that
-- says whose it is and what to render.

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
  rendered_at timestamptz,
  -- issue 15: the generation stages. Each stage's output is recorded here (or in
  -- api_card_images) before the next depends on it; a retried job skips recorded stages.
  marketplace text        not null default 'wb' check (marketplace in ('wb', 'ozon')),
  -- the variant the seller picked (1-3): at create, or later by api_card_choose()
  choice      smallint    check (choice between 1 and 3),
  -- the cut-out product (PNG with alpha), or the whole photo when the gate framed it
  cutout      bytea,
  -- why the photo was framed instead of cut out (null: cut out)
  framed_reason text,
  cutout_at   timestamptz,
  variants_at timestamptz,
  set_at      timestamptz,
  -- the set's job (kind 'api-card-set'), enqueued once both variants and choice exist
  set_job_id  bigint,
  -- milliseconds per stage: {cutout, variants, set}
  timings     jsonb       not null default '{}'::jsonb,
  -- DELETE /api/cards/:id (api_card_cancel): no stage starts after this, and the running
  -- one is aborted through its job's cancellation
  canceled_at timestamptz
);
create index api_cards_key_idx on public.api_cards (key_id, created_at);

-- Results kept in the database (the default: works on the embedded Postgres).
create table public.api_results (
  job_id bigint primary key references public.api_cards (job_id) on delete cascade,
  jpeg   bytea  not null
);

-- The pictures of a card's stages: its 3 variants (role 'variant', n 1-3) and its set
-- (roles 'main', 'infographic', 'detail'; n = place in the set, from 1).
create table public.api_card_images (
  job_id bigint   not null references public.api_cards (job_id) on delete cascade,
  role   text     not null check (role in ('variant', 'main', 'infographic', 'detail')),
  n      smallint not null,
  jpeg   bytea    not null,
  width  integer  not null,
  height integer  not null,
  primary key (job_id, role, n)
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
alter table public.api_card_images enable row level security;
alter table public.api_trash   enable row level security;
revoke all on public.api_keys, public.api_rate, public.api_usage, public.api_cards, public.api_results, public.api_trash,
  public.api_card_images
  from public, anon, authenticated;
