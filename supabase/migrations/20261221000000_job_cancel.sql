-- issue 15 item 4: job cancellation reaches the worker. heartbeat() also answers the named
-- ids that were canceled (so the holder aborts them); API cards can be canceled
-- (api_cards.canceled_at, api_card_cancel) and a canceled card takes no further stage.
-- Copied from supabase/schemas/.

alter table public.api_cards add column canceled_at timestamptz;

-- The return type changes (setof bigint → table): drop and create.
drop function public.heartbeat(text, integer, integer, integer, jsonb, bigint[]);

-- heartbeat(worker, ..., ids): ONE call per instance every lease/2. Registers or
-- refreshes the instance in workers (what /queue counts as live) and extends the
-- leases of the jobs it names and still owns. Only the named ones: a job the process
-- has lost track of must expire and be recovered, not be kept alive forever.
-- Returns the ids still owned (canceled = false), and the named ids that were canceled
-- meanwhile (cancel_job(); canceled = true): the caller aborts those jobs' signals and
-- records nothing for them. A named id in neither was taken over after our lease lapsed,
-- and the caller must abandon it.
-- History: 20261125000300_fn_heartbeat.sql, 20261221000000_job_cancel.sql (canceled ids).
create or replace function public.heartbeat(
  p_worker text, p_concurrency integer, p_in_flight integer, p_lease_seconds integer,
  p_meta jsonb, p_ids bigint[])
returns table (id bigint, canceled boolean)
language plpgsql volatile security definer set search_path = ''
as $$
#variable_conflict use_column
begin
  insert into public.workers as w (id, concurrency, in_flight, lease_seconds, meta)
  values (p_worker, p_concurrency, p_in_flight, p_lease_seconds, coalesce(p_meta, '{}'::jsonb))
  on conflict (id) do update
    set concurrency = excluded.concurrency, in_flight = excluded.in_flight,
        lease_seconds = excluded.lease_seconds, meta = excluded.meta,
        last_heartbeat_at = now();

  -- Fenced by owner: rows another worker took over are not touched.
  return query
    update public.jobs j
       set lease_expires_at = now() + make_interval(secs => p_lease_seconds)
     where j.id = any(p_ids) and j.status = 'running' and j.lease_owner = p_worker
    returning j.id, false;
  -- cancel_job() ends a running job at once (status canceled, no owner): the holder
  -- learns it here, within half a lease, and stops the work.
  if exists (select from unnest(p_ids)) then
    return query
      select j.id, true from public.jobs j
       where j.id = any(p_ids) and j.status = 'canceled';
  end if;
end
$$;

revoke execute on function public.heartbeat(text, integer, integer, integer, jsonb, bigint[]) from public, anon, authenticated;
grant execute on function public.heartbeat(text, integer, integer, integer, jsonb, bigint[]) to service_role;

-- api_card_get(p_key_id, p_job_id): the card as its key sees it; null for anyone else's.
-- Its status follows its stages: the api-card job (cut-out, variants), then
-- 'awaiting_choice' while the variants wait for a pick, then the set's job; times and
-- attempts are those of the job the card is in now. History: 20261125300000_api.sql,
-- 20261212120000_api_stages.sql (stages, variants, slides), 20261221000000_job_cancel.sql
-- (canceled cards).
create or replace function public.api_card_get(p_key_id bigint, p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('id', j.id,
    'status', case when c.canceled_at is not null and c.set_at is null then 'canceled'
                   when c.set_at is not null and s.id is null then 'succeeded'
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
-- (the variants stage or the choice endpoint). Null while either is missing, and for a
-- canceled card.
create or replace function public.api_card_set_enqueue(p_job_id bigint)
returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_card public.api_cards;
  v_job  public.jobs;
begin
  select * into v_card from public.api_cards where job_id = p_job_id for update;
  if not found or v_card.variants_at is null or v_card.choice is null or v_card.canceled_at is not null then return null; end if;
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

-- api_card_choose(p_key_id, p_job_id, p_variant): the seller's pick. The same pick again
-- is a no-op (idempotent); a different one after the first is refused ('conflict').
-- Once the variants exist the set is enqueued (once: see api_card_set_enqueue).
-- A canceled card takes no pick ('canceled').
-- Returns {result: 'ok'|'conflict'|'canceled', choice, set_job}; null for anyone else's card.
create or replace function public.api_card_choose(p_key_id bigint, p_job_id bigint, p_variant integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_choice smallint; v_canceled timestamptz;
begin
  select choice, canceled_at into v_choice, v_canceled from public.api_cards where job_id = p_job_id and key_id = p_key_id for update;
  if not found then return null; end if;
  if v_canceled is not null then
    return jsonb_build_object('result', 'canceled', 'choice', v_choice, 'set_job', null);
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

-- api_card_cancel(p_key_id, p_job_id): DELETE /api/cards/:id. A card that is queued,
-- running (cut-out, variants or set) or awaiting a choice is canceled: no later stage is
-- enqueued (api_card_set_enqueue, api_card_choose check canceled_at) and its jobs are
-- canceled through cancel_job(), so a running one is aborted by its worker at the next
-- heartbeat and never retried. Returns {result: 'canceled'|'not_open', status}; null for
-- anyone else's card. Canceling twice answers 'canceled' again (idempotent).
create or replace function public.api_card_cancel(p_key_id bigint, p_job_id bigint)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_card   public.api_cards;
  v_status text;
begin
  select * into v_card from public.api_cards where job_id = p_job_id and key_id = p_key_id for update;
  if not found then return null; end if;
  if v_card.canceled_at is not null then
    return jsonb_build_object('result', 'canceled', 'status', 'canceled');
  end if;
  v_status := (public.api_card_get(p_key_id, p_job_id))->>'status';
  if v_status not in ('queued', 'running', 'awaiting_choice') then
    return jsonb_build_object('result', 'not_open', 'status', v_status);
  end if;
  update public.api_cards set canceled_at = now() where job_id = p_job_id;
  perform public.cancel_job(p_job_id);
  if v_card.set_job_id is not null then perform public.cancel_job(v_card.set_job_id); end if;
  return jsonb_build_object('result', 'canceled', 'status', 'canceled');
end
$$;

revoke execute on function public.api_card_cancel(bigint, bigint) from public, anon, authenticated;
grant execute on function public.api_card_cancel(bigint, bigint) to service_role;

