-- stats(): everything GET /queue shows, as one JSON object, without scanning finished jobs.
-- Counts of queued/running/dead use the partial indexes (only unfinished or dead rows);
-- the 24 h figures come from the per-minute rollup job_stats (at most a few thousand rows).
-- p95 is read off the log2 duration histogram: the upper edge of the bucket holding
-- the 95th percentile, so it is exact to within a factor of 2 (fine for a health view;
-- /metrics has the fine-grained histogram).
create function public.stats()
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
    select h.i, sum(h.c) as c
    from public.job_stats s, unnest(s.dur_hist) with ordinality as h(c, i)
    where s.bucket > v_now - interval '24 hours'
    group by h.i
  ),
  p95 as (
    select min(i) as i from (
      select i, sum(c) over (order by i) as cum, sum(c) over () as total from hist
    ) x where total > 0 and cum >= 0.95 * total
  )
  select jsonb_build_object(
    'queued',    (select count(*) from public.jobs where status = 'queued' and run_at <= v_now),
    'scheduled', (select count(*) from public.jobs where status = 'queued' and run_at > v_now),
    'running',   (select count(*) from public.jobs where status = 'running'),
    'dead',      (select count(*) from public.jobs where status = 'dead'),
    'expiredLeases', (select count(*) from public.jobs where status = 'running' and lease_expires_at < v_now),
    'oldestQueuedSeconds', (select coalesce(extract(epoch from v_now - min(run_at)), 0)
                              from public.jobs where status = 'queued' and run_at <= v_now),
    'instances', (select coalesce(jsonb_agg(jsonb_build_object(
                      'id', w.id, 'concurrency', w.concurrency, 'inFlight', w.in_flight,
                      'lastHeartbeatAt', w.last_heartbeat_at, 'startedAt', w.started_at) order by w.started_at), '[]'::jsonb)
                  from public.workers w
                  where w.last_heartbeat_at > v_now - make_interval(secs => 2 * w.lease_seconds)),
    'last24h', jsonb_build_object(
      'succeeded',  (select n from roll),
      'failed',     (select count(*) from public.jobs where status = 'dead' and finished_at > v_now - interval '24 hours'),
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
