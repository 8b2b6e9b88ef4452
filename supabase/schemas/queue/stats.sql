-- stats(): everything GET /queue shows, as one JSON object, without scanning finished jobs.
-- Counts of queued/running/dead use the partial indexes (only unfinished or dead rows);
-- the 24 h figures come from the per-minute rollup job_stats (at most a few thousand rows).
-- p95 is read off the log2 duration histogram: the upper edge of the bucket holding
-- the 95th percentile, so it is exact to within a factor of 2 (fine for a health view;
-- /metrics has the fine-grained histogram).
create or replace function public.stats()
returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_now timestamptz := now();
  v_result jsonb;
begin
  with roll as (
    select coalesce(sum(succeeded), 0) as n,
           coalesce(sum(dur_sum_ms), 0) as ms_sum,
           coalesce(sum(succeeded) filter (where bucket >= date_trunc('minute', v_now) - interval '1 minute'), 0) as last_min
    from public.job_stats where bucket > v_now - interval '24 hours'
  ),
  hist as (
    -- one pass over the rollup, summing the 24 histogram slots column-wise (an unnest
    -- per rollup row costs ~70,000 rows a day)
    select h.i, h.c from (
      select array[sum(dur_hist[1]), sum(dur_hist[2]), sum(dur_hist[3]), sum(dur_hist[4]), sum(dur_hist[5]), sum(dur_hist[6]),
                   sum(dur_hist[7]), sum(dur_hist[8]), sum(dur_hist[9]), sum(dur_hist[10]), sum(dur_hist[11]), sum(dur_hist[12]),
                   sum(dur_hist[13]), sum(dur_hist[14]), sum(dur_hist[15]), sum(dur_hist[16]), sum(dur_hist[17]), sum(dur_hist[18]),
                   sum(dur_hist[19]), sum(dur_hist[20]), sum(dur_hist[21]), sum(dur_hist[22]), sum(dur_hist[23]), sum(dur_hist[24])] as a
      from public.job_stats where bucket > v_now - interval '24 hours'
    ) t, unnest(t.a) with ordinality as h(c, i)
  ),
  queued as (
    -- one index-only pass over the queued rows (jobs_queued_run_at_idx)
    select count(*) filter (where run_at <= v_now) as due,
           count(*) filter (where run_at > v_now) as later,
           min(run_at) filter (where run_at <= v_now) as oldest
    from public.jobs where status = 'queued'
  ),
  dead as (
    -- one pass over the dead rows (jobs_dead_idx)
    select count(*) as n, count(*) filter (where finished_at > v_now - interval '24 hours') as last24h
    from public.jobs where status = 'dead'
  ),
  p95 as (
    select min(i) as i from (
      select i, sum(c) over (order by i) as cum, sum(c) over () as total from hist
    ) x where total > 0 and cum >= 0.95 * total
  )
  select jsonb_build_object(
    'queued',    (select due from queued),
    'scheduled', (select later from queued),
    'running',   (select count(*) from public.jobs where status = 'running'),
    'dead',      (select n from dead),
    'expiredLeases', (select count(*) from public.jobs where status = 'running' and lease_expires_at < v_now),
    'oldestQueuedSeconds', (select coalesce(extract(epoch from v_now - oldest), 0) from queued),
    'instances', (select coalesce(jsonb_agg(jsonb_build_object(
                      'id', w.id, 'concurrency', w.concurrency, 'inFlight', w.in_flight,
                      'lastHeartbeatAt', w.last_heartbeat_at, 'startedAt', w.started_at) order by w.started_at), '[]'::jsonb)
                  from public.workers w
                  where w.last_heartbeat_at > v_now - make_interval(secs => 2 * w.lease_seconds)),
    'last24h', jsonb_build_object(
      'succeeded',  (select n from roll),
      'failed',     (select last24h from dead),
      'avgSeconds', (select case when n > 0 then round((ms_sum / n / 1000.0)::numeric, 4) else null end from roll),
      'p95Seconds', (select case when i is null then null else round(power(2, i - 1)::numeric / 1000.0, 4) end from p95),
      'lastMinute', (select last_min from roll)
    ),
    'at', v_now
  ) into v_result;
  return v_result;
end
$$;

revoke execute on function public.stats() from public, anon, authenticated;
grant execute on function public.stats() to service_role;
