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
  -- the order this one was made from ("Another variant", before 20261220120000)
  parent_id           bigint      references public.orders (id) on delete set null,
  -- queued → rendering (cut-out, variants) → awaiting_choice (the seller picks 1-3) →
  -- rendering (the set) → rendered (set recorded) → sent; or canceled / failed / undeliverable
  status              text        not null default 'queued'
                      check (status in ('queued', 'rendering', 'awaiting_choice', 'rendered', 'sent', 'canceled', 'failed', 'undeliverable')),
  render_job_id       bigint,
  deliver_job_id      bigint,
  -- the "queued, #N in line" message the bot edits as the order moves
  ack_message_id      bigint,
  ack_edited_at       timestamptz,
  -- what was delivered: message ids and Telegram's file_ids, so a re-send never uploads again
  -- (photo_*: the set's album, its main picture; document_*: the zip of full-resolution files)
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
  updated_at          timestamptz not null default now(),
  -- issue 15, the generation stage (20261220120000_bot_generation.sql): each stage's output
  -- is recorded (order_images) before the next depends on it; a retried job skips it.
  marketplace         text        not null default 'wb' check (marketplace in ('wb', 'ozon')),
  -- the variant the seller picked (1-3), by order_choose()
  choice              smallint    check (choice between 1 and 3),
  -- why the photo is framed instead of cut out (null: cut out)
  framed_reason       text,
  cutout_at           timestamptz,
  variants_at         timestamptz,
  set_at              timestamptz,
  -- the set's job (card-set) and the set's delivery (deliver-card, stage 'set')
  set_job_id          bigint,
  set_deliver_job_id  bigint,
  -- the variants' album (first message) and the message with the 1/2/3 buttons
  variants_message_id bigint,
  choice_message_id   bigint,
  -- milliseconds per stage: {cutout, variants, set}
  timings             jsonb       not null default '{}'::jsonb
);
create index orders_user_idx on public.orders (user_id, id desc);
create index orders_open_idx on public.orders (user_id) where status in ('queued', 'rendering', 'awaiting_choice', 'rendered');

-- The pictures of an order's stages, kept apart from the order row so listing orders
-- never drags them along: the cut-out (role 'cutout', PNG), the 3 variants ('variant',
-- n 1-3) and the set ('main', 'infographic', 'detail'; n = place in the set, from 1).
-- Deleted with the order; bot_prune() drops them a week after the order finished.
create table public.order_images (
  order_id bigint   not null references public.orders (id) on delete cascade,
  role     text     not null check (role in ('cutout', 'variant', 'main', 'infographic', 'detail')),
  n        smallint not null,
  bytes    bytea    not null,
  width    integer  not null,
  height   integer  not null,
  primary key (order_id, role, n)
);

-- One row per send attempt of each part of a delivery. started_at is written before
-- the Telegram call, answered_at is when Telegram answered (client clock) and
-- committed_at when that answer was stored. A row with started_at but no committed_at
-- followed by another attempt of the same part is a possible duplicate message: the
-- process died (or the commit failed) inside the window between answer and commit, or
-- its send was cut off at deadline_at with no answer though Telegram had it already.
-- deadline_at: by then the attempt can no longer be sending (its HTTP call is aborted
-- before it, and the answer's commit is allowed for); until then another attempt of the
-- job waits instead of sending the part again (order_delivery_begin). Null before
-- 20261225100000.
create table public.order_deliveries (
  id           bigint generated always as identity primary key,
  order_id     bigint      not null references public.orders (id) on delete cascade,
  -- photo/document: the single card of before 20261220120000; variants (album), choice
  -- (the 1/2/3 buttons), slides (the set's album), zip (the full-resolution files)
  part         text        not null check (part in ('photo', 'document', 'variants', 'choice', 'slides', 'zip')),
  attempt      integer     not null,
  worker       text,
  started_at   timestamptz not null default now(),
  answered_at  timestamptz,
  committed_at timestamptz,
  message_id   bigint,
  deadline_at  timestamptz
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
  created_at timestamptz not null default now(),
  -- the cut-out the bot made at upload (order_cutout_put), PNG; or the photo to frame and why
  cutout     bytea,
  framed_reason text
);

alter table public.orders            enable row level security;
alter table public.order_images      enable row level security;
alter table public.order_deliveries  enable row level security;
alter table public.order_quota       enable row level security;
alter table public.order_photos      enable row level security;
revoke all on public.orders, public.order_images, public.order_deliveries, public.order_quota, public.order_photos
  from public, anon, authenticated;
