-- Orders of the Telegram bot: the order rows, their rendered cards, the delivery log and
-- the per-user daily quota; indexes, RLS and grants. Orders point at their jobs by id
-- (render_job_id, deliver_job_id), and the functions in this folder are the only writers.

create table public.orders (
  id                  bigint generated always as identity primary key,
  -- derived from the Telegram update that showed the summary, so a repeated tap or a
  -- repeated delivery of the same update finds this row instead of making a second one
  idempotency_key     text        not null unique,
  user_id             bigint      not null,
  chat_id             bigint      not null,
  lang                text        not null default 'ru' check (lang in ('ru', 'en')),
  photo_file_id       text        not null,
  photo_unique_id     text,
  title               text        not null check (length(title) between 1 and 200),
  features            jsonb       not null default '[]'::jsonb check (jsonb_typeof(features) = 'array'),
  price               text,
  template            text        not null,
  -- "Another variant": the order this one was made from
  parent_id           bigint      references public.orders (id) on delete set null,
  -- queued → rendering → rendered → sent; or canceled / failed / undeliverable
  status              text        not null default 'queued'
                      check (status in ('queued', 'rendering', 'rendered', 'sent', 'canceled', 'failed', 'undeliverable')),
  render_job_id       bigint,
  deliver_job_id      bigint,
  -- the "queued, #N in line" message the bot edits as the order moves
  ack_message_id      bigint,
  ack_edited_at       timestamptz,
  -- what was delivered: message ids and Telegram's file_ids, so a re-send never uploads again
  photo_message_id    bigint,
  photo_out_file_id   text,
  document_message_id bigint,
  document_file_id    text,
  render_ms           integer,
  error               text,
  created_at          timestamptz not null default now(),
  render_started_at   timestamptz,
  rendered_at         timestamptz,
  delivered_at        timestamptz,
  updated_at          timestamptz not null default now()
);
create index orders_user_idx on public.orders (user_id, id desc);
create index orders_open_idx on public.orders (user_id) where status in ('queued', 'rendering', 'rendered');

-- The finished JPEG, kept apart from the order row so listing orders never drags
-- ~200 KB per row along. Deleted with the order.
create table public.order_cards (
  order_id   bigint primary key references public.orders (id) on delete cascade,
  jpeg       bytea   not null,
  width      integer not null,
  height     integer not null,
  created_at timestamptz not null default now()
);

-- One row per send attempt of each part of a delivery. started_at is written before
-- the Telegram call, answered_at is when Telegram answered (client clock) and
-- committed_at when that answer was stored. A row with started_at but no committed_at
-- followed by another attempt of the same part is a possible duplicate message: the
-- process died (or the commit failed) inside the window between answer and commit.
create table public.order_deliveries (
  id           bigint generated always as identity primary key,
  order_id     bigint      not null references public.orders (id) on delete cascade,
  part         text        not null check (part in ('photo', 'document')),
  attempt      integer     not null,
  worker       text,
  started_at   timestamptz not null default now(),
  answered_at  timestamptz,
  committed_at timestamptz,
  message_id   bigint
);
create index order_deliveries_order_idx on public.order_deliveries (order_id, part);

-- Orders per user per (UTC) day. The row is also the per-user lock that makes the
-- open-order and quota checks in order_confirm() atomic.
create table public.order_quota (
  user_id bigint  not null,
  day     date    not null,
  used    integer not null default 0,
  primary key (user_id, day)
);

-- The seller's photo as downloaded and checked when it was sent (order_photo_put()),
-- read by the render job; by Telegram's file_unique_id. Pruned by bot_prune().
create table public.order_photos (
  unique_id  text        primary key,
  bytes      bytea       not null,
  created_at timestamptz not null default now()
);

alter table public.orders            enable row level security;
alter table public.order_cards       enable row level security;
alter table public.order_deliveries  enable row level security;
alter table public.order_quota       enable row level security;
alter table public.order_photos      enable row level security;
revoke all on public.orders, public.order_cards, public.order_deliveries, public.order_quota, public.order_photos
  from public, anon, authenticated;
