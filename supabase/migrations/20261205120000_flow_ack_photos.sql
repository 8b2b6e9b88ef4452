-- Bot → worker without polling, and one download per Telegram photo (issue 14).
--
-- 1. order_rendered() enqueues the delivery due now when the bot has recorded its
--    "queued" answer, else due 10 s after the order (a bot that died in between);
--    order_set_ack() makes a waiting delivery due at once and wakes the workers. The
--    deliver-card job no longer polls the order for the answer every 150 ms.
-- 2. order_photos: the bot keeps the photo it downloaded and checked at upload
--    (order_photo_put), the render job reads it (order_photo) instead of downloading it
--    again; bot_prune() removes them after a day unless an open order needs one.
-- 3. api_card_create() enqueues api-card jobs with an empty payload (the {key} it
--    carried was never read; the job id is the card's id).

create table public.order_photos (
  unique_id  text        primary key,
  bytes      bytea       not null,
  created_at timestamptz not null default now()
);
alter table public.order_photos enable row level security;
revoke all on public.order_photos from public, anon, authenticated;

create or replace function public.order_photo_put(p_unique_id text, p_b64 text)
returns void
language sql volatile security definer set search_path = ''
as $$
  insert into public.order_photos (unique_id, bytes) values (p_unique_id, decode(p_b64, 'base64'))
  on conflict (unique_id) do update set created_at = now()
$$;

revoke execute on function public.order_photo_put(text, text) from public, anon, authenticated;
grant execute on function public.order_photo_put(text, text) to service_role;

create or replace function public.order_photo(p_unique_id text)
returns text
language sql stable security definer set search_path = ''
as $$ select encode(p.bytes, 'base64') from public.order_photos p where p.unique_id = p_unique_id $$;

revoke execute on function public.order_photo(text) from public, anon, authenticated;
grant execute on function public.order_photo(text) to service_role;

create or replace function public.order_rendered(
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
    'run_at', case when v.ack_message_id is null then greatest(now(), v.created_at + interval '10 seconds') end,
    'idempotency_key', 'deliver:' || v.id,
    'fair_key', 'user:' || v.user_id)) j;
  update public.orders set deliver_job_id = v_job where id = v.id returning * into v;
  return to_jsonb(v);
end
$$;

create or replace function public.order_set_ack(p_id bigint, p_message_id bigint)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  update public.orders set ack_message_id = p_message_id, ack_edited_at = now(), updated_at = now()
   where id = p_id returning * into v;
  if not found then return null; end if;
  if v.deliver_job_id is not null and p_message_id is not null then
    update public.jobs set run_at = now()
     where id = v.deliver_job_id and status = 'queued' and attempts = 0 and run_at > now();
    if found then perform pg_notify('neurocards_jobs', ''); end if;
  end if;
  return to_jsonb(v);
end
$$;

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
  delete from public.order_cards c using public.orders o
   where o.id = c.order_id and o.status in ('sent', 'canceled', 'failed', 'undeliverable')
     and o.updated_at < now() - interval '7 days';
  -- photos stored at upload: a day, and as long as an open order still needs one
  delete from public.order_photos p
   where p.unique_id in (select x.unique_id from public.order_photos x
                          where x.created_at < now() - interval '1 day'
                            and x.unique_id not in (select o.photo_unique_id from public.orders o
                                                     where o.status in ('queued', 'rendering', 'rendered')
                                                       and o.photo_unique_id is not null)
                          limit 1000);
  return v_count;
end
$$;

create or replace function public.api_card_create(p_key_id bigint, p jsonb, p_photo_b64 text, p_idempotency_key text)
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
    'kind', 'api-card',
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
