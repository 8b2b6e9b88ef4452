-- Issue 15: an API card goes cut-out → 3 variants → (the seller's pick) → the set, each
-- stage recorded before the next depends on it. See supabase/schemas/api/.

alter table public.api_cards add column marketplace text not null default 'wb' check (marketplace in ('wb', 'ozon'));
alter table public.api_cards add column choice smallint check (choice between 1 and 3);
alter table public.api_cards add column cutout bytea;
alter table public.api_cards add column framed_reason text;
alter table public.api_cards add column cutout_at timestamptz;
alter table public.api_cards add column variants_at timestamptz;
alter table public.api_cards add column set_at timestamptz;
alter table public.api_cards add column set_job_id bigint;
alter table public.api_cards add column timings jsonb not null default '{}'::jsonb;

create table public.api_card_images (
  job_id bigint   not null references public.api_cards (job_id) on delete cascade,
  role   text     not null check (role in ('variant', 'main', 'infographic', 'detail')),
  n      smallint not null,
  jpeg   bytea    not null,
  width  integer  not null,
  height integer  not null,
  primary key (job_id, role, n)
);
alter table public.api_card_images enable row level security;
revoke all on public.api_card_images from public, anon, authenticated;

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

-- api_card_input(p_job_id): what the api-card job (cut-out, then variants) needs; null
-- when the card is gone. Bytes only for the stage still to run: the photo until the
-- cut-out is recorded, then the cut-out until the variants are (base64 without
-- encode()'s line breaks). History: 20261125300000_api.sql,
-- 20261210120000_api_bytes_once.sql, 20261212120000_api_stages.sql (stages).
create or replace function public.api_card_input(p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('title', c.title, 'features', c.features, 'price', c.price, 'template', c.template,
    'marketplace', c.marketplace, 'choice', c.choice, 'framed_reason', c.framed_reason,
    'cut', c.cutout_at is not null, 'variants_done', c.variants_at is not null,
    'photo_b64', case when c.cutout_at is null then translate(encode(c.photo, 'base64'), E'\n', '') end,
    'cutout_b64', case when c.cutout_at is not null and c.variants_at is null then translate(encode(c.cutout, 'base64'), E'\n', '') end,
    'stored', c.storage is not null)
  from public.api_cards c where c.job_id = p_job_id
$$;

revoke execute on function public.api_card_input(bigint) from public, anon, authenticated;
grant execute on function public.api_card_input(bigint) to service_role;

-- api_card_get(p_key_id, p_job_id): the card as its key sees it; null for anyone else's.
-- Its status follows its stages: the api-card job (cut-out, variants), then
-- 'awaiting_choice' while the variants wait for a pick, then the set's job; times and
-- attempts are those of the job the card is in now. History: 20261125300000_api.sql,
-- 20261212120000_api_stages.sql (stages, variants, slides).
create or replace function public.api_card_get(p_key_id bigint, p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('id', j.id,
    'status', case when c.set_at is not null and s.id is null then 'succeeded'
                   when s.id is not null then s.status::text
                   when j.status = 'succeeded' and c.variants_at is not null and c.choice is null then 'awaiting_choice'
                   else j.status::text end,
    'created_at', j.created_at, 'started_at', j.started_at,
    'completed_at', case when c.set_job_id is not null then s.finished_at
                         when c.variants_at is not null and c.choice is null then null else j.finished_at end,
    'attempts', coalesce(s.attempts, j.attempts), 'error', coalesce(s.last_error, j.last_error), 'template', c.template,
    'has_result', c.result_path is not null or c.storage = 'db',
    'marketplace', c.marketplace, 'choice', c.choice, 'framed_reason', c.framed_reason, 'timings', c.timings,
    'variants', coalesce((select jsonb_agg(jsonb_build_object('n', i.n, 'width', i.width, 'height', i.height) order by i.n)
       from public.api_card_images i where i.job_id = c.job_id and i.role = 'variant'), '[]'::jsonb),
    'slides', case when c.set_at is null then '[]'::jsonb else coalesce((select jsonb_agg(jsonb_build_object('role', i.role, 'n', i.n, 'width', i.width, 'height', i.height) order by i.n)
       from public.api_card_images i where i.job_id = c.job_id and i.role <> 'variant'), '[]'::jsonb) end)
  from public.api_cards c join public.jobs j on j.id = c.job_id
  left join public.jobs s on s.id = c.set_job_id
  where c.job_id = p_job_id and c.key_id = p_key_id
$$;

revoke execute on function public.api_card_get(bigint, bigint) from public, anon, authenticated;
grant execute on function public.api_card_get(bigint, bigint) to service_role;

-- api_card_set_enqueue(p_job_id): the set's job (kind 'api-card-set') once a card has both
-- its variants and a choice; its idempotency key makes it one job whoever calls first
-- (the variants stage or the choice endpoint). Null while either is missing.
create or replace function public.api_card_set_enqueue(p_job_id bigint)
returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_card public.api_cards;
  v_job  public.jobs;
begin
  select * into v_card from public.api_cards where job_id = p_job_id for update;
  if not found or v_card.variants_at is null or v_card.choice is null then return null; end if;
  if v_card.set_job_id is not null then return v_card.set_job_id; end if;
  select * into v_job from public.enqueue(jsonb_build_object(
    'kind', 'api-card-set', 'payload', jsonb_build_object('card', p_job_id),
    'idempotency_key', 'api-set:' || p_job_id, 'fair_key', 'api:' || v_card.key_id));
  update public.api_cards set set_job_id = v_job.id where job_id = p_job_id;
  return v_job.id;
end
$$;

revoke execute on function public.api_card_set_enqueue(bigint) from public, anon, authenticated;
grant execute on function public.api_card_set_enqueue(bigint) to service_role;

-- api_card_cutout_done(p_job_id, p_cutout_b64, p_framed_reason, p_ms): records the cut-out
-- stage once (the product as PNG, or the photo to frame and why) and drops the input
-- photo. A second call (a retried job) changes nothing. {recorded} says which happened;
-- null when the card is gone.
create or replace function public.api_card_cutout_done(p_job_id bigint, p_cutout_b64 text, p_framed_reason text, p_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_done boolean;
begin
  update public.api_cards set cutout = decode(p_cutout_b64, 'base64'), framed_reason = p_framed_reason,
         cutout_at = now(), photo = null, timings = timings || jsonb_build_object('cutout', p_ms)
   where job_id = p_job_id and cutout_at is null
  returning true into v_done;
  if v_done then return jsonb_build_object('recorded', true); end if;
  if not exists (select 1 from public.api_cards where job_id = p_job_id) then return null; end if;
  return jsonb_build_object('recorded', false);
end
$$;

revoke execute on function public.api_card_cutout_done(bigint, text, text, integer) from public, anon, authenticated;
grant execute on function public.api_card_cutout_done(bigint, text, text, integer) to service_role;

-- api_card_variants_done(p_job_id, p_variants, p_ms): records the 3 variants once
-- (p_variants: [{n, jpeg_b64, width, height}]) and, when the seller picked in advance,
-- enqueues the set in the same transaction. A retried job's second call changes nothing.
-- Returns {recorded, set_job}; null when the card is gone.
create or replace function public.api_card_variants_done(p_job_id bigint, p_variants jsonb, p_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_done boolean;
begin
  update public.api_cards set variants_at = now(), timings = timings || jsonb_build_object('variants', p_ms)
   where job_id = p_job_id and variants_at is null
  returning true into v_done;
  if v_done then
    insert into public.api_card_images (job_id, role, n, jpeg, width, height)
    select p_job_id, 'variant', (v->>'n')::smallint, decode(v->>'jpeg_b64', 'base64'), (v->>'width')::int, (v->>'height')::int
      from jsonb_array_elements(p_variants) v
    on conflict do nothing;
  elsif not exists (select 1 from public.api_cards where job_id = p_job_id) then
    return null;
  end if;
  return jsonb_build_object('recorded', coalesce(v_done, false), 'set_job', public.api_card_set_enqueue(p_job_id));
end
$$;

revoke execute on function public.api_card_variants_done(bigint, jsonb, integer) from public, anon, authenticated;
grant execute on function public.api_card_variants_done(bigint, jsonb, integer) to service_role;

-- api_card_choose(p_key_id, p_job_id, p_variant): the seller's pick. The same pick again
-- is a no-op (idempotent); a different one after the first is refused ('conflict').
-- Once the variants exist the set is enqueued (once: see api_card_set_enqueue).
-- Returns {result: 'ok'|'conflict', choice, set_job}; null for anyone else's card.
create or replace function public.api_card_choose(p_key_id bigint, p_job_id bigint, p_variant integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_choice smallint;
begin
  select choice into v_choice from public.api_cards where job_id = p_job_id and key_id = p_key_id for update;
  if not found then return null; end if;
  if v_choice is not null and v_choice <> p_variant then
    return jsonb_build_object('result', 'conflict', 'choice', v_choice, 'set_job', null);
  end if;
  if v_choice is null then
    update public.api_cards set choice = p_variant where job_id = p_job_id;
  end if;
  return jsonb_build_object('result', 'ok', 'choice', p_variant, 'set_job', public.api_card_set_enqueue(p_job_id));
end
$$;

revoke execute on function public.api_card_choose(bigint, bigint, integer) from public, anon, authenticated;
grant execute on function public.api_card_choose(bigint, bigint, integer) to service_role;

-- api_card_set_input(p_job_id): what the api-card-set job needs; null when the card is gone.
-- Until the set is recorded: the words, the cut-out and the chosen variant; after that
-- (a retry that died before storing the result) only the recorded main picture.
create or replace function public.api_card_set_input(p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('title', c.title, 'features', c.features, 'price', c.price, 'template', c.template,
    'marketplace', c.marketplace, 'choice', c.choice, 'framed_reason', c.framed_reason,
    'set_done', c.set_at is not null, 'stored', c.storage is not null,
    'cutout_b64', case when c.set_at is null then translate(encode(c.cutout, 'base64'), E'\n', '') end,
    'variant_b64', case when c.set_at is null then (select translate(encode(i.jpeg, 'base64'), E'\n', '')
       from public.api_card_images i where i.job_id = c.job_id and i.role = 'variant' and i.n = c.choice) end,
    'main_b64', case when c.set_at is not null and c.storage is null then (select translate(encode(i.jpeg, 'base64'), E'\n', '')
       from public.api_card_images i where i.job_id = c.job_id and i.role = 'main') end)
  from public.api_cards c where c.job_id = p_job_id
$$;

revoke execute on function public.api_card_set_input(bigint) from public, anon, authenticated;
grant execute on function public.api_card_set_input(bigint) to service_role;

-- api_card_set_done(p_job_id, p_slides, p_ms): records the set once (p_slides:
-- [{role, n, jpeg_b64, width, height}], validated by the job before it calls this).
-- Returns {recorded}; null when the card is gone.
create or replace function public.api_card_set_done(p_job_id bigint, p_slides jsonb, p_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_done boolean;
begin
  update public.api_cards set set_at = now(), timings = timings || jsonb_build_object('set', p_ms)
   where job_id = p_job_id and set_at is null
  returning true into v_done;
  if v_done then
    insert into public.api_card_images (job_id, role, n, jpeg, width, height)
    select p_job_id, s->>'role', (s->>'n')::smallint, decode(s->>'jpeg_b64', 'base64'), (s->>'width')::int, (s->>'height')::int
      from jsonb_array_elements(p_slides) s
    on conflict do nothing;
  elsif not exists (select 1 from public.api_cards where job_id = p_job_id) then
    return null;
  end if;
  return jsonb_build_object('recorded', coalesce(v_done, false));
end
$$;

revoke execute on function public.api_card_set_done(bigint, jsonb, integer) from public, anon, authenticated;
grant execute on function public.api_card_set_done(bigint, jsonb, integer) to service_role;

-- api_card_image(p_key_id, p_job_id, p_role, p_n): one picture of a card (a variant or a
-- slide) as base64, for its owner only; null otherwise.
create or replace function public.api_card_image(p_key_id bigint, p_job_id bigint, p_role text, p_n integer)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('jpeg_b64', translate(encode(i.jpeg, 'base64'), E'\n', ''), 'width', i.width, 'height', i.height)
  from public.api_cards c join public.api_card_images i on i.job_id = c.job_id
  where c.job_id = p_job_id and c.key_id = p_key_id and i.role = p_role and i.n = p_n
$$;

revoke execute on function public.api_card_image(bigint, bigint, text, integer) from public, anon, authenticated;
grant execute on function public.api_card_image(bigint, bigint, text, integer) to service_role;

