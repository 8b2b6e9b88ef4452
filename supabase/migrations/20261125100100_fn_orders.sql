-- Order operations, one function each. The bot calls order_confirm / order_cancel /
-- order_list / order_set_ack; the render-card and deliver-card jobs call the rest.
-- All return jsonb (orders as to_jsonb rows), so both store adapters read them alike.

-- order_position(id): where an order's render job stands in the queue, and an estimate.
-- Counts queued render jobs ahead of it in claim order (priority, vtime, id) on the
-- partial claim index; slots = concurrency of live workers; the average render time
-- comes from the last hour of the job_stats rollup.
create function public.order_position(p_id bigint)
returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_order public.orders;
  v_job   public.jobs;
  v_ahead integer := 0;
  v_slots integer;
  v_avg_ms double precision;
begin
  select * into v_order from public.orders where id = p_id;
  if not found then return null; end if;
  select * into v_job from public.jobs where id = v_order.render_job_id;
  if found and v_job.status = 'queued' then
    select count(*) into v_ahead from public.jobs j
     where j.status = 'queued' and j.kind = 'render-card'
       and (j.priority, j.vtime, j.id) < (v_job.priority, v_job.vtime, v_job.id);
  end if;
  select coalesce(sum(w.concurrency), 0) into v_slots from public.workers w
   where w.last_heartbeat_at > now() - interval '1 minute';
  select sum(s.dur_sum_ms) / nullif(sum(s.succeeded), 0) into v_avg_ms from public.job_stats s
   where s.kind = 'render-card' and s.bucket > now() - interval '1 hour';
  v_avg_ms := coalesce(v_avg_ms, 1500);
  return jsonb_build_object(
    'position', v_ahead + 1,
    'ahead', v_ahead,
    'workers', v_slots,
    -- render time for the jobs ahead spread over the slots, plus ours, plus sending
    'estimate_seconds', ceil((v_ahead::double precision / greatest(v_slots, 1) + 1) * v_avg_ms / 1000.0) + 3);
end
$$;

-- order_confirm(p): create an order and its render job in one transaction.
-- p = {key, user_id, chat_id, lang, photo_file_id, photo_unique_id, title, features,
--      price, template, parent_id, max_open, daily_quota}.
-- Returns {result: created|exists|limit_open|limit_daily|missing, order?, open, used, queue?}.
create function public.order_confirm(p jsonb)
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
   where user_id = v_user and status in ('queued', 'rendering', 'rendered');
  if v_open >= coalesce((p->>'max_open')::integer, 5) then
    return jsonb_build_object('result', 'limit_open', 'open', v_open, 'used', v_used);
  end if;
  if v_used >= coalesce((p->>'daily_quota')::integer, 50) then
    return jsonb_build_object('result', 'limit_daily', 'open', v_open, 'used', v_used);
  end if;

  insert into public.orders (idempotency_key, user_id, chat_id, lang, photo_file_id, photo_unique_id,
                             title, features, price, template, parent_id)
  values (v_key, v_user, (p->>'chat_id')::bigint, coalesce(p->>'lang', 'ru'), p->>'photo_file_id',
          p->>'photo_unique_id', p->>'title', coalesce(p->'features', '[]'::jsonb), nullif(p->>'price', ''),
          p->>'template', (p->>'parent_id')::bigint)
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

create function public.order_get(p_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$ select to_jsonb(o) from public.orders o where o.id = p_id $$;

create function public.order_by_key(p_key text)
returns jsonb
language sql stable security definer set search_path = ''
as $$ select to_jsonb(o) from public.orders o where o.idempotency_key = p_key $$;

-- order_list(user, which, limit): 'open' orders (with queue positions) or 'history'
-- (delivered cards, newest first).
create function public.order_list(p_user bigint, p_which text, p_limit integer default 10)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(x.j order by x.id desc), '[]'::jsonb) from (
    select o.id,
           case when p_which = 'open' then to_jsonb(o) || jsonb_build_object('queue', public.order_position(o.id))
                else to_jsonb(o) end as j
    from public.orders o
    where o.user_id = p_user
      and ((p_which = 'open' and o.status in ('queued', 'rendering', 'rendered'))
        or (p_which = 'history' and o.status = 'sent'))
    order by o.id desc
    limit greatest(p_limit, 0)
  ) x
$$;

-- order_set_ack(id, message_id): the bot's "queued" message, edited as the order moves.
create function public.order_set_ack(p_id bigint, p_message_id bigint)
returns jsonb
language sql volatile security definer set search_path = ''
as $$
  update public.orders set ack_message_id = p_message_id, ack_edited_at = now(), updated_at = now()
   where id = p_id returning to_jsonb(orders.*)
$$;

-- order_ack_touch(id, min_interval_ms): permission to edit the ack message now. At most
-- one edit per interval across all instances: the conditional update is the gate (the
-- row lock makes a concurrent second caller re-check and find the fresh timestamp).
-- 0 forces (the final "sent" edit). Returns the order, or null when not allowed.
create function public.order_ack_touch(p_id bigint, p_min_interval_ms integer)
returns jsonb
language sql volatile security definer set search_path = ''
as $$
  update public.orders set ack_edited_at = now()
   where id = p_id and ack_message_id is not null
     and (p_min_interval_ms <= 0 or ack_edited_at is null
          or ack_edited_at < now() - make_interval(secs => p_min_interval_ms / 1000.0))
  returning to_jsonb(orders.*)
$$;

-- order_start_render(id): queued → rendering. Returns the order plus has_card (a card
-- stored by an earlier attempt that died before finishing: no need to render again).
create function public.order_start_render(p_id bigint)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  update public.orders
     set status = 'rendering', render_started_at = coalesce(render_started_at, now()), updated_at = now()
   where id = p_id and status in ('queued', 'rendering')
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id;
    if not found then return null; end if;
  end if;
  return to_jsonb(v) || jsonb_build_object('has_card', exists (select 1 from public.order_cards c where c.order_id = p_id));
end
$$;

-- order_rendered(id, jpeg_b64, width, height, render_ms): store the card and enqueue its
-- delivery in the same transaction, with an idempotency key derived from the order, so
-- a render retried after a crash never enqueues a second delivery. A canceled order
-- keeps its card but gets no delivery. jpeg_b64 null = the card is stored already.
create function public.order_rendered(
  p_id bigint, p_jpeg_b64 text, p_width integer, p_height integer, p_render_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v   public.orders;
  v_job bigint;
begin
  if p_jpeg_b64 is not null then
    insert into public.order_cards (order_id, jpeg, width, height)
    values (p_id, decode(p_jpeg_b64, 'base64'), p_width, p_height)
    on conflict (order_id) do nothing;
  end if;
  update public.orders
     set status = 'rendered', rendered_at = now(), render_ms = coalesce(p_render_ms, render_ms), updated_at = now()
   where id = p_id and status in ('queued', 'rendering')
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id;
    return to_jsonb(v);
  end if;
  -- priority -1: finishing a started order goes before starting new renders
  select j.id into v_job from public.enqueue(jsonb_build_object(
    'kind', 'deliver-card',
    'payload', jsonb_build_object('orderId', v.id),
    'priority', -1,
    'max_attempts', 10,
    'idempotency_key', 'deliver:' || v.id,
    'fair_key', 'user:' || v.user_id)) j;
  update public.orders set deliver_job_id = v_job where id = v.id returning * into v;
  return to_jsonb(v);
end
$$;

-- order_card(id): the stored JPEG as base64 (null when none).
create function public.order_card(p_id bigint)
returns text
language sql stable security definer set search_path = ''
as $$ select encode(c.jpeg, 'base64') from public.order_cards c where c.order_id = p_id $$;

-- order_delivery_begin(id, part, attempt, worker): log a send about to happen and
-- return the order as it is right now (a cancel that landed meanwhile is seen here).
create function public.order_delivery_begin(p_id bigint, p_part text, p_attempt integer, p_worker text)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  select * into v from public.orders where id = p_id;
  if not found then return null; end if;
  if v.status in ('queued', 'rendering', 'rendered') then
    insert into public.order_deliveries (order_id, part, attempt, worker) values (p_id, p_part, p_attempt, p_worker);
  end if;
  return to_jsonb(v);
end
$$;

-- order_delivery_done(id, part, message_id, file_id, answered_at): store what Telegram
-- answered. This is the commit that closes the duplicate window (see order_deliveries).
create function public.order_delivery_done(
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
  if p_part = 'photo' then
    update public.orders set photo_message_id = p_message_id, photo_out_file_id = p_file_id, updated_at = now()
     where id = p_id returning * into v;
  else
    update public.orders
       set document_message_id = p_message_id, document_file_id = p_file_id, updated_at = now(),
           delivered_at = coalesce(delivered_at, now()),
           status = case when status in ('queued', 'rendering', 'rendered') then 'sent' else status end
     where id = p_id returning * into v;
  end if;
  return to_jsonb(v);
end
$$;

-- order_fail(id, status, error): failed (bad photo, Telegram 400) or undeliverable (403).
create function public.order_fail(p_id bigint, p_status text, p_error text)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  if p_status not in ('failed', 'undeliverable') then
    raise exception 'order_fail: status must be failed or undeliverable' using errcode = '22023';
  end if;
  update public.orders set status = p_status, error = left(p_error, 2000), updated_at = now()
   where id = p_id and status in ('queued', 'rendering', 'rendered')
  returning * into v;
  if not found then select * into v from public.orders where id = p_id; end if;
  return to_jsonb(v);
end
$$;

-- order_cancel(id, user): the user's own open order only. Its jobs are canceled too:
-- a queued render never runs; a running one finishes but is fenced out, and
-- order_rendered() enqueues no delivery for a canceled order.
create function public.order_cancel(p_id bigint, p_user bigint)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  update public.orders set status = 'canceled', updated_at = now()
   where id = p_id and user_id = p_user and status in ('queued', 'rendering', 'rendered')
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id and user_id = p_user;
    return jsonb_build_object('result', case when found then 'not_open' else 'not_found' end,
                              'order', case when found then to_jsonb(v) end);
  end if;
  if v.render_job_id is not null then perform public.cancel_job(v.render_job_id); end if;
  if v.deliver_job_id is not null then perform public.cancel_job(v.deliver_job_id); end if;
  return jsonb_build_object('result', 'canceled', 'order', to_jsonb(v));
end
$$;

-- order_stats(): today's (UTC) order figures for the admin /stats.
create function public.order_stats()
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'today', count(*),
    'sent', count(*) filter (where status = 'sent'),
    'open', count(*) filter (where status in ('queued', 'rendering', 'rendered')),
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

revoke execute on function
  public.order_position(bigint), public.order_confirm(jsonb), public.order_get(bigint), public.order_by_key(text),
  public.order_list(bigint, text, integer), public.order_set_ack(bigint, bigint), public.order_ack_touch(bigint, integer),
  public.order_start_render(bigint), public.order_rendered(bigint, text, integer, integer, integer),
  public.order_card(bigint), public.order_delivery_begin(bigint, text, integer, text),
  public.order_delivery_done(bigint, text, bigint, text, timestamptz), public.order_fail(bigint, text, text),
  public.order_cancel(bigint, bigint), public.order_stats()
  from public, anon, authenticated;
grant execute on function
  public.order_position(bigint), public.order_confirm(jsonb), public.order_get(bigint), public.order_by_key(text),
  public.order_list(bigint, text, integer), public.order_set_ack(bigint, bigint), public.order_ack_touch(bigint, integer),
  public.order_start_render(bigint), public.order_rendered(bigint, text, integer, integer, integer),
  public.order_card(bigint), public.order_delivery_begin(bigint, text, integer, text),
  public.order_delivery_done(bigint, text, bigint, text, timestamptz), public.order_fail(bigint, text, text),
  public.order_cancel(bigint, bigint), public.order_stats()
  to service_role;
