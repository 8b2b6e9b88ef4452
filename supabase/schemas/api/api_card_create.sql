-- api_card_create(p_key_id, p, p_photo_b64, p_idempotency_key): one card = quota taken,
-- job enqueued (kind 'api-card', fair per key) and its api_cards row, in one
-- transaction. An idempotency key (scoped to the API key) that exists returns the
-- existing card and takes no quota. Returns {result: 'created'|'exists'|'quota', ...}.
-- Locking: the quota row (key, day) is locked by its upsert until commit, so a key's
-- creates serialise on it: the quota can never be overshot. A repeat of an
-- idempotency key racing the first waits inside enqueue() on the unique index,
-- then finds the same job; its api_cards insert does nothing, and it gives back
-- the quota unit it took. The job's payload is empty: the job id finds the api_cards row.
-- History: 20261125300000_api.sql (first version), 20261205120000_flow_ack_photos.sql,
-- 20261212120000_api_stages.sql (marketplace and variant).
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

  insert into public.api_cards (job_id, key_id, title, features, price, template, photo, marketplace, choice)
  values (v_job.id, p_key_id, p->>'title', coalesce(p->'features', '[]'::jsonb), p->>'price', p->>'template',
          decode(p_photo_b64, 'base64'), coalesce(p->>'marketplace', 'wb'), (p->>'variant')::smallint)
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

revoke execute on function public.api_card_create(bigint, jsonb, text, text) from public, anon, authenticated;
grant execute on function public.api_card_create(bigint, jsonb, text, text) to service_role;
