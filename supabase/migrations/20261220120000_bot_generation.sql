-- Issue 15 in the bot: an order goes cut-out → 3 variants (awaiting_choice) → the seller's
-- pick → the set (main picture + infographic slides) → delivered as an album and a zip.
-- Each stage's output is recorded in order_images before the next depends on it. The
-- single-card functions order_rendered() and order_card() and their table order_cards go.
-- See supabase/schemas/orders/.

drop function public.order_rendered(bigint, text, integer, integer, integer);
drop function public.order_card(bigint);
drop table public.order_cards;

alter table public.orders drop constraint orders_status_check;
alter table public.orders add constraint orders_status_check
  check (status in ('queued', 'rendering', 'awaiting_choice', 'rendered', 'sent', 'canceled', 'failed', 'undeliverable'));
alter table public.orders add column marketplace text not null default 'wb' check (marketplace in ('wb', 'ozon'));
alter table public.orders add column choice smallint check (choice between 1 and 3);
alter table public.orders add column framed_reason text;
alter table public.orders add column cutout_at timestamptz;
alter table public.orders add column variants_at timestamptz;
alter table public.orders add column set_at timestamptz;
alter table public.orders add column set_job_id bigint;
alter table public.orders add column set_deliver_job_id bigint;
alter table public.orders add column variants_message_id bigint;
alter table public.orders add column choice_message_id bigint;
alter table public.orders add column timings jsonb not null default '{}'::jsonb;
drop index public.orders_open_idx;
create index orders_open_idx on public.orders (user_id) where status in ('queued', 'rendering', 'awaiting_choice', 'rendered');

alter table public.order_deliveries drop constraint order_deliveries_part_check;
alter table public.order_deliveries add constraint order_deliveries_part_check
  check (part in ('photo', 'document', 'variants', 'choice', 'slides', 'zip'));

alter table public.order_photos add column cutout bytea;
alter table public.order_photos add column framed_reason text;

create table public.order_images (
  order_id bigint   not null references public.orders (id) on delete cascade,
  role     text     not null check (role in ('cutout', 'variant', 'main', 'infographic', 'detail')),
  n        smallint not null,
  bytes    bytea    not null,
  width    integer  not null,
  height   integer  not null,
  primary key (order_id, role, n)
);
alter table public.order_images enable row level security;
revoke all on public.order_images from public, anon, authenticated;

-- order_confirm(p): create an order and its render job in one transaction.
-- p = {key, user_id, chat_id, lang, photo_file_id, photo_unique_id, title, features,
--      price, template, marketplace, max_open, daily_quota}.
-- History: 20261125100100_fn_orders.sql, 20261220120000_bot_generation.sql (marketplace).
-- Returns {result: created|exists|limit_open|limit_daily|missing, order?, open, used, queue?}.
create or replace function public.order_confirm(p jsonb)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_user  bigint := (p->>'user_id')::bigint;
  v_key   text := p->>'key';
  v_day   date := (now() at time zone 'utc')::date;
  v_used  integer;
  v_open  integer;
  v_order public.orders;
  v_job   bigint;
begin
  if v_user is null or v_key is null then
    raise exception 'order_confirm needs user_id and key' using errcode = '22023';
  end if;
  -- Lock this user's quota row for the rest of the transaction. Concurrent confirms of
  -- one user (a double tap answered by two instances) queue up here, so the key lookup,
  -- the limit checks and the insert below see each other's committed rows.
  insert into public.order_quota as q (user_id, day, used) values (v_user, v_day, 0)
  on conflict (user_id, day) do update set used = q.used
  returning q.used into v_used;

  select * into v_order from public.orders where idempotency_key = v_key;
  if found then
    return jsonb_build_object('result', 'exists', 'order', to_jsonb(v_order),
                              'queue', public.order_position(v_order.id));
  end if;
  if p->>'photo_file_id' is null or p->>'title' is null then
    return jsonb_build_object('result', 'missing');
  end if;

  select count(*) into v_open from public.orders
   where user_id = v_user and status in ('queued', 'rendering', 'awaiting_choice', 'rendered');
  if v_open >= coalesce((p->>'max_open')::integer, 5) then
    return jsonb_build_object('result', 'limit_open', 'open', v_open, 'used', v_used);
  end if;
  if v_used >= coalesce((p->>'daily_quota')::integer, 50) then
    return jsonb_build_object('result', 'limit_daily', 'open', v_open, 'used', v_used);
  end if;

  insert into public.orders (idempotency_key, user_id, chat_id, lang, photo_file_id, photo_unique_id,
                             title, features, price, template, parent_id, marketplace)
  values (v_key, v_user, (p->>'chat_id')::bigint, coalesce(p->>'lang', 'ru'), p->>'photo_file_id',
          p->>'photo_unique_id', p->>'title', coalesce(p->'features', '[]'::jsonb), nullif(p->>'price', ''),
          p->>'template', (p->>'parent_id')::bigint, coalesce(p->>'marketplace', 'wb'))
  returning * into v_order;

  select j.id into v_job from public.enqueue(jsonb_build_object(
    'kind', 'render-card',
    'payload', jsonb_build_object('orderId', v_order.id),
    'idempotency_key', 'render:' || v_order.id,
    'fair_key', 'user:' || v_user)) j;
  update public.orders set render_job_id = v_job where id = v_order.id returning * into v_order;
  update public.order_quota set used = used + 1 where user_id = v_user and day = v_day;

  return jsonb_build_object('result', 'created', 'order', to_jsonb(v_order),
                            'open', v_open + 1, 'used', v_used + 1,
                            'queue', public.order_position(v_order.id));
end
$$;

revoke execute on function public.order_confirm(jsonb) from public, anon, authenticated;
grant execute on function public.order_confirm(jsonb) to service_role;

-- order_cancel(id, user): the user's own open order only. Its jobs are canceled too:
-- a queued render never runs; a running one finishes but is fenced out, and
-- order_variants_done() / order_set_done() enqueue no delivery for a canceled order.
-- Works until the set is delivered (awaiting_choice included).
create or replace function public.order_cancel(p_id bigint, p_user bigint)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  update public.orders set status = 'canceled', updated_at = now()
   where id = p_id and user_id = p_user and status in ('queued', 'rendering', 'awaiting_choice', 'rendered')
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id and user_id = p_user;
    return jsonb_build_object('result', case when found then 'not_open' else 'not_found' end,
                              'order', case when found then to_jsonb(v) end);
  end if;
  if v.render_job_id is not null then perform public.cancel_job(v.render_job_id); end if;
  if v.deliver_job_id is not null then perform public.cancel_job(v.deliver_job_id); end if;
  if v.set_job_id is not null then perform public.cancel_job(v.set_job_id); end if;
  if v.set_deliver_job_id is not null then perform public.cancel_job(v.set_deliver_job_id); end if;
  return jsonb_build_object('result', 'canceled', 'order', to_jsonb(v));
end
$$;

revoke execute on function public.order_cancel(bigint, bigint) from public, anon, authenticated;
grant execute on function public.order_cancel(bigint, bigint) to service_role;

-- order_list(user, which, limit): 'open' orders (with queue positions) or 'history'
-- (delivered cards, newest first).
create or replace function public.order_list(p_user bigint, p_which text, p_limit integer default 10)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(x.j order by x.id desc), '[]'::jsonb) from (
    select o.id,
           case when p_which = 'open' then to_jsonb(o) || jsonb_build_object('queue', public.order_position(o.id))
                else to_jsonb(o) end as j
    from public.orders o
    where o.user_id = p_user
      and ((p_which = 'open' and o.status in ('queued', 'rendering', 'awaiting_choice', 'rendered'))
        or (p_which = 'history' and o.status = 'sent'))
    order by o.id desc
    limit greatest(p_limit, 0)
  ) x
$$;

revoke execute on function public.order_list(bigint, text, integer) from public, anon, authenticated;
grant execute on function public.order_list(bigint, text, integer) to service_role;

-- order_fail(id, status, error): failed (bad photo, Telegram 400) or undeliverable (403).
create or replace function public.order_fail(p_id bigint, p_status text, p_error text)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  if p_status not in ('failed', 'undeliverable') then
    raise exception 'order_fail: status must be failed or undeliverable' using errcode = '22023';
  end if;
  update public.orders set status = p_status, error = left(p_error, 2000), updated_at = now()
   where id = p_id and status in ('queued', 'rendering', 'awaiting_choice', 'rendered')
  returning * into v;
  if not found then select * into v from public.orders where id = p_id; end if;
  return to_jsonb(v);
end
$$;

revoke execute on function public.order_fail(bigint, text, text) from public, anon, authenticated;
grant execute on function public.order_fail(bigint, text, text) to service_role;

-- order_stats(): today's (UTC) order figures for the admin /stats.
create or replace function public.order_stats()
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'today', count(*),
    'sent', count(*) filter (where status = 'sent'),
    'open', count(*) filter (where status in ('queued', 'rendering', 'awaiting_choice', 'rendered')),
    'failed', count(*) filter (where status = 'failed'),
    'undeliverable', count(*) filter (where status = 'undeliverable'),
    'canceled', count(*) filter (where status = 'canceled'),
    'users', count(distinct user_id),
    'render_ms_avg', round(avg(render_ms)),
    'delivered_p50_s', round((percentile_cont(0.5) within group (order by extract(epoch from delivered_at - created_at)))::numeric, 1),
    'delivered_p95_s', round((percentile_cont(0.95) within group (order by extract(epoch from delivered_at - created_at)))::numeric, 1))
  from public.orders
  where created_at >= (now() at time zone 'utc')::date
$$;

revoke execute on function public.order_stats() from public, anon, authenticated;
grant execute on function public.order_stats() to service_role;

-- order_delivery_begin(id, part, attempt, worker, job): log a send about to happen and
-- return the order as it is right now (a cancel that landed meanwhile is seen here).
--
-- Fenced by the job's lease: the send that follows cannot be undone, so only the attempt
-- that holds the deliver job's lease may start one: the job must be running, leased to
-- p_worker, on attempt p_attempt (the same fence as complete() and fail()). An attempt
-- whose lease was taken over or handed back (shutdown) gets {"fenced": true} and sends
-- nothing; the attempt that owns the job now sends instead. Without the fence, a process
-- that lost its lease while cut off from the database went on to send a part the new
-- owner was sending too. p_job defaults to null (no fence) so an instance still running
-- the code from before the fence kept working through the rolling deploy.
--
-- History: migrations 20261125100100_fn_orders.sql (4 arguments, unfenced) and
-- 20261201000100_fn_delivery_begin_fenced.sql (drops it; the live one).
create or replace function public.order_delivery_begin(
  p_id bigint, p_part text, p_attempt integer, p_worker text, p_job bigint default null)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  select * into v from public.orders where id = p_id;
  if not found then return null; end if;
  if p_job is not null and not exists (
    select 1 from public.jobs j
     where j.id = p_job and j.status = 'running' and j.lease_owner = p_worker and j.attempts = p_attempt) then
    return to_jsonb(v) || jsonb_build_object('fenced', true);
  end if;
  if v.status in ('queued', 'rendering', 'awaiting_choice', 'rendered') then
    insert into public.order_deliveries (order_id, part, attempt, worker) values (p_id, p_part, p_attempt, p_worker);
  end if;
  return to_jsonb(v);
end
$$;

revoke execute on function public.order_delivery_begin(bigint, text, integer, text, bigint) from public, anon, authenticated;
grant execute on function public.order_delivery_begin(bigint, text, integer, text, bigint) to service_role;

-- order_delivery_done(id, part, message_id, file_id, answered_at): store what Telegram
-- answered. This is the commit that closes the duplicate window (see order_deliveries).
-- Parts: variants (album) and choice (1/2/3 buttons) after the variants; slides (the set's
-- album: main picture's file_id) and zip (the document; the order is sent) after the set.
-- History: 20261125100100_fn_orders.sql, 20261220120000_bot_generation.sql (parts).
create or replace function public.order_delivery_done(
  p_id bigint, p_part text, p_message_id bigint, p_file_id text, p_answered_at timestamptz)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  update public.order_deliveries
     set answered_at = p_answered_at, committed_at = clock_timestamp(), message_id = p_message_id
   where id = (select max(d.id) from public.order_deliveries d
                where d.order_id = p_id and d.part = p_part and d.committed_at is null);
  if p_part = 'variants' then
    update public.orders set variants_message_id = p_message_id, updated_at = now() where id = p_id returning * into v;
  elsif p_part = 'choice' then
    update public.orders set choice_message_id = p_message_id, updated_at = now() where id = p_id returning * into v;
  elsif p_part in ('photo', 'slides') then
    update public.orders set photo_message_id = p_message_id, photo_out_file_id = p_file_id, updated_at = now()
     where id = p_id returning * into v;
  else
    update public.orders
       set document_message_id = p_message_id, document_file_id = p_file_id, updated_at = now(),
           delivered_at = coalesce(delivered_at, now()),
           status = case when status in ('queued', 'rendering', 'awaiting_choice', 'rendered') then 'sent' else status end
     where id = p_id returning * into v;
  end if;
  return to_jsonb(v);
end
$$;

revoke execute on function public.order_delivery_done(bigint, text, bigint, text, timestamp with time zone) from public, anon, authenticated;
grant execute on function public.order_delivery_done(bigint, text, bigint, text, timestamp with time zone) to service_role;

-- order_start_render(id): queued → rendering, and what the render-card job (cut-out, then
-- the 3 variants) needs. Returns the order plus: cut (the cut-out is recorded),
-- variants_done, and bytes only for the stage still to run: the recorded cut-out until
-- the variants are recorded; before the cut-out, the one the bot made at upload
-- (upload_cutout_b64 + upload_framed_reason) when there is one. Null when the order is gone.
-- History: 20261125100100_fn_orders.sql (has_card), 20261220120000_bot_generation.sql (stages).
create or replace function public.order_start_render(p_id bigint)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  update public.orders
     set status = 'rendering', render_started_at = coalesce(render_started_at, now()), updated_at = now()
   where id = p_id and status in ('queued', 'rendering') and variants_at is null
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id;
    if not found then return null; end if;
  end if;
  return to_jsonb(v) || jsonb_build_object(
    'cut', v.cutout_at is not null,
    'variants_done', v.variants_at is not null,
    'cutout_b64', case when v.cutout_at is not null and v.variants_at is null then (select translate(encode(i.bytes, 'base64'), E'\n', '')
       from public.order_images i where i.order_id = v.id and i.role = 'cutout' and i.n = 0) end,
    'upload_cutout_b64', case when v.cutout_at is null then (select translate(encode(p.cutout, 'base64'), E'\n', '')
       from public.order_photos p where p.unique_id = v.photo_unique_id) end,
    'upload_framed_reason', case when v.cutout_at is null then (select p.framed_reason
       from public.order_photos p where p.unique_id = v.photo_unique_id) end);
end
$$;

revoke execute on function public.order_start_render(bigint) from public, anon, authenticated;
grant execute on function public.order_start_render(bigint) to service_role;

-- order_cutout_put(unique_id, b64, framed_reason): the cut-out the bot made when the photo
-- was accepted (PNG; or the photo to frame and why), kept with the photo (order_photo_put)
-- so the render job builds on it instead of cutting out again. No photo row: nothing.
create or replace function public.order_cutout_put(p_unique_id text, p_b64 text, p_framed_reason text)
returns void
language sql volatile security definer set search_path = ''
as $$
  update public.order_photos set cutout = decode(p_b64, 'base64'), framed_reason = p_framed_reason
   where unique_id = p_unique_id
$$;

revoke execute on function public.order_cutout_put(text, text, text) from public, anon, authenticated;
grant execute on function public.order_cutout_put(text, text, text) to service_role;

-- order_cutout_done(id, b64, framed_reason, ms): records the cut-out stage once (the
-- product as PNG, or the photo to frame and why). A second call (a retried or taken-over
-- job) changes nothing. Returns {recorded}; null when the order is gone.
create or replace function public.order_cutout_done(p_id bigint, p_b64 text, p_framed_reason text, p_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_done boolean;
begin
  update public.orders set cutout_at = now(), framed_reason = p_framed_reason, updated_at = now(),
         timings = timings || jsonb_build_object('cutout', p_ms)
   where id = p_id and cutout_at is null
  returning true into v_done;
  if v_done then
    insert into public.order_images (order_id, role, n, bytes, width, height)
    values (p_id, 'cutout', 0, decode(p_b64, 'base64'), 0, 0)
    on conflict do nothing;
    return jsonb_build_object('recorded', true);
  end if;
  if not exists (select 1 from public.orders where id = p_id) then return null; end if;
  return jsonb_build_object('recorded', false);
end
$$;

revoke execute on function public.order_cutout_done(bigint, text, text, integer) from public, anon, authenticated;
grant execute on function public.order_cutout_done(bigint, text, text, integer) to service_role;

-- order_variants_done(id, variants, ms): records the 3 variants once (p_variants:
-- [{n, jpeg_b64, width, height}]), moves the order to awaiting_choice and enqueues their
-- delivery (album + 1/2/3 buttons), in one transaction with an idempotency key derived
-- from the order, so a retried render never enqueues a second delivery. A canceled order
-- keeps nothing new and gets no delivery. Returns the order; null when it is gone.
--
-- The delivery edits the bot's "queued" answer, so it is due once the bot has recorded
-- that answer: now when it has (the usual case), otherwise 10 s after the order was
-- created; order_set_ack() makes it due the moment the answer is recorded.
-- Replaces order_rendered() (20261125100100_fn_orders.sql, 20261205120000_flow_ack_photos.sql).
create or replace function public.order_variants_done(p_id bigint, p_variants jsonb, p_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v     public.orders;
  v_job bigint;
begin
  update public.orders
     set status = 'awaiting_choice', variants_at = now(), rendered_at = now(), render_ms = p_ms, updated_at = now(),
         timings = timings || jsonb_build_object('variants', p_ms)
   where id = p_id and status in ('queued', 'rendering') and variants_at is null
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id;
    return to_jsonb(v);
  end if;
  insert into public.order_images (order_id, role, n, bytes, width, height)
  select p_id, 'variant', (x->>'n')::smallint, decode(x->>'jpeg_b64', 'base64'), (x->>'width')::int, (x->>'height')::int
    from jsonb_array_elements(p_variants) x
  on conflict do nothing;
  -- priority -1: finishing a started order goes before starting new renders
  select j.id into v_job from public.enqueue(jsonb_build_object(
    'kind', 'deliver-card',
    'payload', jsonb_build_object('orderId', v.id, 'stage', 'variants'),
    'priority', -1,
    'max_attempts', 10,
    'run_at', case when v.ack_message_id is null then greatest(now(), v.created_at + interval '10 seconds') end,
    'idempotency_key', 'deliver:' || v.id,
    'fair_key', 'user:' || v.user_id)) j;
  update public.orders set deliver_job_id = v_job where id = v.id returning * into v;
  return to_jsonb(v);
end
$$;

revoke execute on function public.order_variants_done(bigint, jsonb, integer) from public, anon, authenticated;
grant execute on function public.order_variants_done(bigint, jsonb, integer) to service_role;

-- order_choose(id, user, variant): the seller's pick under the variants. The same pick
-- again (a repeated tap or Telegram update) is a no-op; a different one after the first
-- is refused ('conflict'). The first pick moves awaiting_choice → rendering and enqueues
-- the set (card-set, once: its idempotency key is the order's). Returns
-- {result: 'ok'|'conflict'|'not_ready'|'closed', choice, order}; null for anyone else's order.
create or replace function public.order_choose(p_id bigint, p_user bigint, p_variant integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v     public.orders;
  v_job bigint;
begin
  select * into v from public.orders where id = p_id and user_id = p_user for update;
  if not found then return null; end if;
  if v.choice is not null then
    return jsonb_build_object('result', case when v.choice = p_variant then 'ok' else 'conflict' end,
                              'choice', v.choice, 'order', to_jsonb(v));
  end if;
  if v.status <> 'awaiting_choice' then
    return jsonb_build_object('result', case when v.status in ('queued', 'rendering') then 'not_ready' else 'closed' end,
                              'choice', null, 'order', to_jsonb(v));
  end if;
  if p_variant not between 1 and 3 then
    raise exception 'order_choose: variant must be 1-3' using errcode = '22023';
  end if;
  select j.id into v_job from public.enqueue(jsonb_build_object(
    'kind', 'card-set',
    'payload', jsonb_build_object('orderId', v.id),
    'priority', -1,
    'idempotency_key', 'set:' || v.id,
    'fair_key', 'user:' || v.user_id)) j;
  update public.orders set choice = p_variant, status = 'rendering', set_job_id = v_job, updated_at = now()
   where id = p_id returning * into v;
  return jsonb_build_object('result', 'ok', 'choice', p_variant, 'order', to_jsonb(v));
end
$$;

revoke execute on function public.order_choose(bigint, bigint, integer) from public, anon, authenticated;
grant execute on function public.order_choose(bigint, bigint, integer) to service_role;

-- order_set_input(id): what the card-set job needs; null when the order is gone. Until
-- the set is recorded: the words, the cut-out and the chosen variant (base64 without
-- encode()'s line breaks); after that nothing more (its delivery is enqueued already).
create or replace function public.order_set_input(p_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select to_jsonb(o) || jsonb_build_object('set_done', o.set_at is not null,
    'cutout_b64', case when o.set_at is null then (select translate(encode(i.bytes, 'base64'), E'\n', '')
       from public.order_images i where i.order_id = o.id and i.role = 'cutout' and i.n = 0) end,
    'variant_b64', case when o.set_at is null then (select translate(encode(i.bytes, 'base64'), E'\n', '')
       from public.order_images i where i.order_id = o.id and i.role = 'variant' and i.n = o.choice) end)
  from public.orders o where o.id = p_id
$$;

revoke execute on function public.order_set_input(bigint) from public, anon, authenticated;
grant execute on function public.order_set_input(bigint) to service_role;

-- order_set_done(id, slides, ms): records the set once (p_slides: [{role, n, jpeg_b64,
-- width, height}], validated against the marketplace by the job before it calls this),
-- moves the order rendering → rendered and enqueues the set's delivery (album + zip), in
-- one transaction keyed by the order. A canceled order gets no delivery. Returns the
-- order; null when it is gone.
create or replace function public.order_set_done(p_id bigint, p_slides jsonb, p_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v     public.orders;
  v_job bigint;
begin
  update public.orders
     set status = 'rendered', set_at = now(), updated_at = now(), timings = timings || jsonb_build_object('set', p_ms)
   where id = p_id and status = 'rendering' and choice is not null and set_at is null
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id;
    return to_jsonb(v);
  end if;
  insert into public.order_images (order_id, role, n, bytes, width, height)
  select p_id, x->>'role', (x->>'n')::smallint, decode(x->>'jpeg_b64', 'base64'), (x->>'width')::int, (x->>'height')::int
    from jsonb_array_elements(p_slides) x
  on conflict do nothing;
  select j.id into v_job from public.enqueue(jsonb_build_object(
    'kind', 'deliver-card',
    'payload', jsonb_build_object('orderId', v.id, 'stage', 'set'),
    'priority', -1,
    'max_attempts', 10,
    'idempotency_key', 'deliver-set:' || v.id,
    'fair_key', 'user:' || v.user_id)) j;
  update public.orders set set_deliver_job_id = v_job where id = v.id returning * into v;
  return to_jsonb(v);
end
$$;

revoke execute on function public.order_set_done(bigint, jsonb, integer) from public, anon, authenticated;
grant execute on function public.order_set_done(bigint, jsonb, integer) to service_role;

-- order_stage_images(id, stage): the pictures a delivery sends, in order: 'variants' (n 1-3) or
-- 'set' (main, infographic, detail by place). [{role, n, b64, width, height}].
create or replace function public.order_stage_images(p_id bigint, p_stage text)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('role', i.role, 'n', i.n, 'width', i.width, 'height', i.height,
           'b64', translate(encode(i.bytes, 'base64'), E'\n', '')) order by i.n), '[]'::jsonb)
    from public.order_images i
   where i.order_id = p_id
     and case when p_stage = 'variants' then i.role = 'variant' else i.role in ('main', 'infographic', 'detail') end
$$;

revoke execute on function public.order_stage_images(bigint, text) from public, anon, authenticated;
grant execute on function public.order_stage_images(bigint, text) to service_role;

-- bot_prune(): retention for the bot's tables, in bounded batches.
create or replace function public.bot_prune()
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
  delete from public.order_images c using public.orders o
   where o.id = c.order_id and o.status in ('sent', 'canceled', 'failed', 'undeliverable')
     and o.updated_at < now() - interval '7 days';
  -- photos stored at upload: a day, and as long as an open order still needs one
  delete from public.order_photos p
   where p.unique_id in (select x.unique_id from public.order_photos x
                          where x.created_at < now() - interval '1 day'
                            and x.unique_id not in (select o.photo_unique_id from public.orders o
                                                     where o.status in ('queued', 'rendering', 'awaiting_choice', 'rendered')
                                                       and o.photo_unique_id is not null)
                          limit 1000);
  return v_count;
end
$$;

revoke execute on function public.bot_prune() from public, anon, authenticated;
grant execute on function public.bot_prune() to service_role;
