-- complete(), second version (supersedes 20261125000400_fn_complete.sql). Two costs
-- found by profiling a 20,000-job drain on a 2-core box:
--
-- 1. The fence was a semi-join against unnest(p_ids, p_attempts). plpgsql switches to a
--    generic plan after five calls, and in that plan unnest() of a parameter is estimated
--    at 10 rows, so the semi-join became a nested loop rescanning the array for every
--    row: 124,750 comparisons and 47 ms for a batch of 500 (quadratic, and batches grow
--    exactly when the database is slow). Now the batch drives the join: one primary-key
--    lookup per (id, attempt) pair, linear whatever the estimate.
--    `status::text = 'running'` is deliberate: written as `status = 'running'` it lets the
--    planner pick the partial index of running rows (tiny by its statistics) and test
--    every running row against the batch, which is quadratic again under a backlog.
-- 2. The rollup's per-row arithmetic was numeric: extract(epoch ...) returns numeric
--    since PG 14 and log(2, numeric) is a series expansion, ~30 us per job together.
--    Now float8: date_part() and width_bucket() over the 23 bucket edges (the same
--    buckets exactly: i holds [2^(i-1), 2^i) ms, 0 holds < 1 ms, 23 holds >= 2^22 ms).
create or replace function public.complete(
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
                         else coalesce(p_results -> (d.ord::int - 1), j.result) end
      from unnest(p_ids, p_attempts) with ordinality as d(id, attempt, ord)
     where j.id = d.id and j.attempts = d.attempt
       and j.status::text = 'running' and j.lease_owner = p_worker
    returning j.id, j.kind,
              greatest(date_part('epoch', j.finished_at - j.started_at) * 1000, 0) as ms
  ),
  binned as (
    -- bucket i holds durations in [2^(i-1), 2^i) ms
    select kind, ms, width_bucket(ms, '{1,2,4,8,16,32,64,128,256,512,1024,2048,4096,8192,16384,32768,65536,131072,262144,524288,1048576,2097152,4194304}'::float8[]) as b
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
