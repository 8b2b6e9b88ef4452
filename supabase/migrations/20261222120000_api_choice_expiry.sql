-- An API card waiting for its seller's choice of variant no longer vanishes with its
-- first job 24 h after the variants (prune() of finished jobs): a finished job can be
-- kept past its retention (jobs.keep_until). A card without a pick is kept 14 days: 7 to
-- choose (then api_card_get shows 'expired' and api_card_choose refuses), 7 more
-- visible as 'expired'; once its set is recorded, 24 h as any finished card.

alter table public.jobs add column keep_until timestamptz;

-- Cards already waiting for a choice get the same 14 days from their variants.
update public.jobs j set keep_until = c.variants_at + interval '14 days'
  from public.api_cards c
 where c.job_id = j.id and c.variants_at is not null and c.choice is null;

-- prune(): retention from seed 002, in bounded batches so it never holds long locks.
-- Succeeded after p_succeeded_hours, dead/canceled after p_failed_days, never before
-- the job's keep_until; old rollup rows and long-silent worker rows too. Returns the
-- number of jobs deleted. History: 20261222120000_api_choice_expiry.sql (keep_until).
create or replace function public.prune(
  p_succeeded_hours integer default 24, p_failed_days integer default 7, p_limit integer default 5000)
returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare v_count integer;
begin
  delete from public.jobs j
   where j.id in (select x.id from public.jobs x
                   where ((x.status = 'succeeded' and x.finished_at < now() - make_interval(hours => p_succeeded_hours))
                       or (x.status in ('dead', 'canceled') and x.finished_at < now() - make_interval(days => p_failed_days)))
                     and (x.keep_until is null or x.keep_until < now())
                   limit p_limit for update skip locked);
  get diagnostics v_count = row_count;
  delete from public.job_stats where bucket < now() - make_interval(days => p_failed_days + 1);
  delete from public.workers where last_heartbeat_at < now() - interval '1 day';
  return v_count;
end
$$;

revoke execute on function public.prune(integer, integer, integer) from public, anon, authenticated;
grant execute on function public.prune(integer, integer, integer) to service_role;

-- api_card_variants_done(p_job_id, p_variants, p_ms): records the 3 variants once
-- (p_variants: [{n, jpeg_b64, width, height}]) and, when the seller picked in advance,
-- enqueues the set in the same transaction. A retried job's second call changes nothing.
-- Without a pick the card waits for one: its job (whose deletion takes the card with it)
-- is kept 14 days, 7 to choose and 7 more showing 'expired' (api_card_get).
-- Returns {recorded, set_job}; null when the card is gone. History:
-- 20261212120000_api_stages.sql, 20261222120000_api_choice_expiry.sql (keep_until).
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
    update public.jobs j set keep_until = now() + interval '14 days'
      from public.api_cards c where c.job_id = p_job_id and j.id = p_job_id and c.choice is null;
  elsif not exists (select 1 from public.api_cards where job_id = p_job_id) then
    return null;
  end if;
  return jsonb_build_object('recorded', coalesce(v_done, false), 'set_job', public.api_card_set_enqueue(p_job_id));
end
$$;

revoke execute on function public.api_card_variants_done(bigint, jsonb, integer) from public, anon, authenticated;
grant execute on function public.api_card_variants_done(bigint, jsonb, integer) to service_role;

-- api_card_set_done(p_job_id, p_slides, p_ms): records the set once (p_slides:
-- [{role, n, jpeg_b64, width, height}], validated by the job before it calls this).
-- The card's job is then kept 24 h from now (the retention of a finished job), however
-- long the card waited for its choice. Returns {recorded}; null when the card is gone.
-- History: 20261212120000_api_stages.sql, 20261222120000_api_choice_expiry.sql (keep_until).
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
    update public.jobs set keep_until = now() + interval '24 hours' where id = p_job_id;
  elsif not exists (select 1 from public.api_cards where job_id = p_job_id) then
    return null;
  end if;
  return jsonb_build_object('recorded', coalesce(v_done, false));
end
$$;

revoke execute on function public.api_card_set_done(bigint, jsonb, integer) from public, anon, authenticated;
grant execute on function public.api_card_set_done(bigint, jsonb, integer) to service_role;

-- api_card_choose(p_key_id, p_job_id, p_variant): the seller's pick. The same pick again
-- is a no-op (idempotent); a different one after the first is refused ('conflict').
-- Once the variants exist the set is enqueued (once: see api_card_set_enqueue).
-- A card whose variants waited 7 days without a pick has expired ('expired', nothing
-- changes). Returns {result: 'ok'|'conflict'|'expired', choice, set_job}; null for
-- anyone else's card. History: 20261212120000_api_stages.sql, 20261222120000_api_choice_expiry.sql.
create or replace function public.api_card_choose(p_key_id bigint, p_job_id bigint, p_variant integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_choice smallint; v_variants_at timestamptz;
begin
  select choice, variants_at into v_choice, v_variants_at from public.api_cards where job_id = p_job_id and key_id = p_key_id for update;
  if not found then return null; end if;
  if v_choice is null and v_variants_at < now() - interval '7 days' then
    return jsonb_build_object('result', 'expired', 'choice', null, 'set_job', null);
  end if;
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

-- api_card_get(p_key_id, p_job_id): the card as its key sees it; null for anyone else's.
-- Its status follows its stages: the api-card job (cut-out, variants), then
-- 'awaiting_choice' while the variants wait for a pick (until choice_expires_at, 7 days
-- after the variants; then 'expired'), then the set's job; times and attempts are those
-- of the job the card is in now. History: 20261125300000_api.sql,
-- 20261212120000_api_stages.sql (stages, variants, slides), 20261222120000_api_choice_expiry.sql.
create or replace function public.api_card_get(p_key_id bigint, p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('id', j.id,
    'status', case when c.set_at is not null and s.id is null then 'succeeded'
                   when s.id is not null then s.status::text
                   when j.status = 'succeeded' and c.variants_at is not null and c.choice is null
                     then case when c.variants_at < now() - interval '7 days' then 'expired' else 'awaiting_choice' end
                   else j.status::text end,
    'created_at', j.created_at, 'started_at', j.started_at,
    'completed_at', case when c.set_job_id is not null then s.finished_at
                         when c.variants_at is not null and c.choice is null then null else j.finished_at end,
    'attempts', coalesce(s.attempts, j.attempts), 'error', coalesce(s.last_error, j.last_error), 'template', c.template,
    'has_result', c.result_path is not null or c.storage = 'db',
    'choice_expires_at', case when c.variants_at is not null and c.choice is null then c.variants_at + interval '7 days' end,
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

