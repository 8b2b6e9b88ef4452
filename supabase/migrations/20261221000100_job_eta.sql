-- issue 15 item 4: the ETA a client sees comes from measured durations. job_eta() reads the
-- p50 of a job's kind off the job_stats histogram (last hour) with the queue ahead and the
-- live slots; GET /api/cards/:id (api_card_get) and the bot's order_position use it.
-- Copied from supabase/schemas/.

-- job_eta(p_job_id): where a job stands and when it should be done, from measurements:
-- the jobs queued and due ahead of it in claim order (priority, vtime, id; every kind
-- shares the fleet), the live workers' slots, and the p50 duration of its kind over the
-- last hour of the job_stats rollup (its duration histogram, interpolated inside the
-- bucket). estimate_seconds = p50 × (ahead ÷ slots + 1) while queued; the p50 less the
-- time it has run while running. Without an hour's measurement of the kind: p_default_ms,
-- and measured = false. Null for an unknown job.
create or replace function public.job_eta(p_job_id bigint, p_default_ms integer default 1500)
returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_job   public.jobs;
  v_ahead integer := 0;
  v_slots integer;
  v_total bigint;
  v_cum   bigint := 0;
  v_p50   double precision;
  r       record;
begin
  select * into v_job from public.jobs where id = p_job_id;
  if not found then return null; end if;
  if v_job.status = 'queued' then
    select count(*) into v_ahead from public.jobs j
     where j.status = 'queued' and j.run_at <= now()
       and (j.priority, j.vtime, j.id) < (v_job.priority, v_job.vtime, v_job.id);
  end if;
  select coalesce(sum(w.concurrency), 0) into v_slots from public.workers w
   where w.last_heartbeat_at > now() - make_interval(secs => 2 * w.lease_seconds);
  -- Bucket i (1-based) of dur_hist counts durations in [2^(i-2), 2^(i-1)) ms.
  select sum(s.succeeded) into v_total from public.job_stats s
   where s.kind = v_job.kind and s.bucket > now() - interval '1 hour';
  if coalesce(v_total, 0) > 0 then
    for r in select h.i, sum(s.dur_hist[h.i])::bigint as n
               from public.job_stats s, generate_series(1, 24) as h(i)
              where s.kind = v_job.kind and s.bucket > now() - interval '1 hour'
              group by h.i order by h.i loop
      if r.n > 0 and v_cum + r.n >= v_total / 2.0 then
        v_p50 := case when r.i = 1 then 0.5
                      else power(2, r.i - 2) + (v_total / 2.0 - v_cum) / r.n * power(2, r.i - 2) end;
        exit;
      end if;
      v_cum := v_cum + r.n;
    end loop;
  end if;
  return jsonb_build_object(
    'kind', v_job.kind, 'status', v_job.status,
    'position', case when v_job.status = 'queued' then v_ahead + 1 end,
    'ahead', v_ahead, 'slots', v_slots,
    'p50_ms', round(coalesce(v_p50, p_default_ms)::numeric, 1), 'measured', v_p50 is not null,
    'estimate_seconds', case
      when v_job.status = 'queued' then ceil((v_ahead::double precision / greatest(v_slots, 1) + 1) * coalesce(v_p50, p_default_ms) / 1000.0)::int
      when v_job.status = 'running' then greatest(1, ceil(coalesce(v_p50, p_default_ms) / 1000.0
                                                  - extract(epoch from now() - coalesce(v_job.started_at, now())))::int)
      end);
end
$$;

revoke execute on function public.job_eta(bigint, integer) from public, anon, authenticated;
grant execute on function public.job_eta(bigint, integer) to service_role;

-- api_card_get(p_key_id, p_job_id): the card as its key sees it; null for anyone else's.
-- Its status follows its stages: the api-card job (cut-out, variants), then
-- 'awaiting_choice' while the variants wait for a pick, then the set's job; times and
-- attempts are those of the job the card is in now. History: 20261125300000_api.sql,
-- 20261212120000_api_stages.sql (stages, variants, slides), 20261221000000_job_cancel.sql
-- (canceled cards), 20261221000100_job_eta.sql (eta: job_eta() of the job the card is in
-- while it is queued or running: position, measured p50 of that stage, estimate).
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
    'eta', case when c.canceled_at is null and coalesce(s.status, j.status) in ('queued', 'running')
                then public.job_eta(coalesce(s.id, j.id)) end,
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

-- order_position(id): where an order's render job stands in the queue, and an estimate.
-- Counts queued render jobs ahead of it in claim order (priority, vtime, id) on the
-- partial claim index; slots = concurrency of live workers; the render time is the
-- measured p50 of render-card jobs over the last hour (job_eta(); it was the mean until
-- 20261221000100_job_eta.sql).
create or replace function public.order_position(p_id bigint)
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
  v_avg_ms := coalesce((public.job_eta(v_order.render_job_id)->>'p50_ms')::double precision, 1500);
  return jsonb_build_object(
    'position', v_ahead + 1,
    'ahead', v_ahead,
    'workers', v_slots,
    -- render time for the jobs ahead spread over the slots, plus ours, plus sending
    'estimate_seconds', ceil((v_ahead::double precision / greatest(v_slots, 1) + 1) * v_avg_ms / 1000.0) + 3);
end
$$;

revoke execute on function public.order_position(bigint) from public, anon, authenticated;
grant execute on function public.order_position(bigint) to service_role;

