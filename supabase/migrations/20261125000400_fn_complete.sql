-- complete(worker, ids, attempts, results): mark a batch of jobs succeeded in one statement.
-- Fenced: a row changes only while p_worker still holds the lease of that same attempt,
-- so a worker whose lease lapsed (and whose job was re-run elsewhere) cannot overwrite
-- the newer attempt. Returns the ids actually completed.
-- Also adds the durations to this worker's row of the per-minute rollup (job_stats),
-- which is what /queue's 24 h figures read.
create function public.complete(
  p_worker text, p_ids bigint[], p_attempts integer[], p_results jsonb default null)
returns setof bigint
language plpgsql volatile security definer set search_path = ''
as $$
begin
  return query
  with done as (
    update public.jobs j
       set status = 'succeeded', finished_at = now(),
           lease_owner = null, lease_expires_at = null,
           result = case when p_results is null then j.result
                         else coalesce(p_results -> (array_position(p_ids, j.id) - 1), j.result) end
     -- Primary-key lookups of the ids, and the (id, attempt) fence as a hashed semi-join:
     -- linear in the batch. (A join against unnest() is estimated at 10 rows and planned
     -- as a nested loop, quadratic: seconds for a batch of thousands.)
     where j.id = any(p_ids) and j.status = 'running' and j.lease_owner = p_worker
       and (j.id, j.attempts) in (select d.id, d.attempt from unnest(p_ids, p_attempts) as d(id, attempt))
    returning j.id, j.kind,
              greatest(extract(epoch from (j.finished_at - j.started_at)) * 1000, 0) as ms
  ),
  binned as (
    -- bucket i holds durations in [2^(i-1), 2^i) ms
    select kind, ms, least(23, case when ms < 1 then 0 else floor(log(2, ms::numeric))::int + 1 end) as b
    from done
  ),
  per_bucket as (
    select kind, b, count(*) as n, sum(ms) as ms_sum from binned group by kind, b
  ),
  per_kind as (
    -- one pass: count per (kind, bucket), then one 24-slot array per kind
    select c.kind, sum(c.n)::int as n, sum(c.ms_sum) as ms_sum,
           (select array_agg(coalesce((select sum(x.n) from per_bucket x where x.kind = c.kind and x.b = g), 0)::int order by g)
              from generate_series(0, 23) g) as hist
    from per_bucket c group by c.kind
  ),
  rolled as (
    insert into public.job_stats as s (bucket, kind, worker, succeeded, dur_sum_ms, dur_hist)
    select date_trunc('minute', now()), kind, p_worker, n, ms_sum, hist from per_kind
    on conflict (bucket, kind, worker) do update
      set succeeded  = s.succeeded + excluded.succeeded,
          dur_sum_ms = s.dur_sum_ms + excluded.dur_sum_ms,
          dur_hist   = (select array_agg(a + b order by o)
                          from unnest(s.dur_hist, excluded.dur_hist) with ordinality as h(a, b, o))
  )
  select id from done;
end
$$;

revoke execute on function public.complete(text, bigint[], integer[], jsonb) from public, anon, authenticated;
grant execute on function public.complete(text, bigint[], integer[], jsonb) to service_role;
