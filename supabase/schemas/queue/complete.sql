-- complete(worker, ids, attempts, results): mark a batch of jobs succeeded.
-- Fenced: a row changes only while p_worker still holds the lease of that same attempt,
-- so a worker whose lease lapsed (and whose job was re-run elsewhere) cannot overwrite
-- the newer attempt. Returns the ids actually completed.
-- Also adds the durations to this worker's row of the per-minute rollup (job_stats),
-- which is what /queue's 24 h figures read. The rollup's arithmetic is float8
-- (date_part() and width_bucket() over the 23 bucket edges: bucket i holds
-- [2^(i-1), 2^i) ms, 0 holds < 1 ms, 23 holds >= 2^22 ms); extract(epoch ...) is numeric
-- since PG 14 and log(2, numeric) a series expansion, ~30 us per job together.
--
-- The fenced rows are found by one primary-key lookup per (id, attempt) pair, a plan
-- the planner cannot trade for another. A join of unnest(p_ids, p_attempts) to jobs with
-- the fence (owner, status) as filters on jobs leaves the join order to the planner, and
-- with statistics taken while the owner column was all NULL (a backlog analysed before
-- any worker started, as autovacuum often leaves it) `lease_owner = 'worker-x'` is
-- estimated at one row, so the planner put a sequential scan of jobs on the outside and
-- rescanned the batch for every running row: 43 ms for a batch of 500 on 20,000 rows,
-- 0.8-2 s in benchmark drains (where slow batches grow and feed on themselves), against
-- ~6 ms for the same batch planned the other way round. (And a semi-join against unnest()
-- in a generic plan, estimated at 10 rows, became a quadratic nested loop.)
--
-- So two statements, each with one possible plan:
-- 1. The batch drives a LATERAL subquery. It references d.id, so it can only run as the
--    inner side of a nested loop, once per pair; its LIMIT keeps it from being flattened
--    into an ordinary join that could be reordered. `status::text` keeps the lookup on the
--    primary key: with `status = 'running'` the planner may pick the partial index of
--    running rows (empty by the same stale statistics) and walk every running row for each
--    pair (22 ms for 500). The subquery locks the row it checks (FOR NO KEY UPDATE, what
--    the UPDATE takes anyway), so the fence cannot change before step 2 writes the row; a
--    row locked by a concurrent claim is waited for and re-checked on its new version.
-- 2. The UPDATE goes by the locked ids only (`id = any(v_ids)`: primary-key lookups), with
--    no filter on jobs whose estimate could mislead it. Results, when given, are looked up
--    in a jsonb object keyed by id (a join back to the batch was planned as a hash join over
--    a sequential scan of jobs; a lookup into the aggregate inside the same statement copied
--    it for every row).
-- Measured on 20,000 rows with those statistics, batch of 500: 5-10 ms with or without
-- results, every call. test/query-plans.test.ts holds it to a plan that does not depend
-- on the table's statistics.
--
-- History: migrations 20261125000400_fn_complete.sql, 20261125400000_fn_complete_v2.sql
-- (linear fence, float8 rollup) and 20261201100000_fn_complete_v3.sql (the live one).
create or replace function public.complete(
  p_worker text, p_ids bigint[], p_attempts integer[], p_results jsonb default null)
returns setof bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_ids     bigint[];
  v_results jsonb;   -- {"<id>": result}: one O(log n) lookup per row below
begin
  -- 1. Fence and lock, one primary-key lookup per (id, attempt) pair.
  select array_agg(f.id),
         case when p_results is not null then jsonb_object_agg(f.id::text, p_results -> (d.ord::int - 1)) end
    into v_ids, v_results
    -- In id order, the order heartbeat() and release() lock in, so a complete and a
    -- heartbeat of the same instance never wait on each other in a cycle.
    from (select u.* from unnest(p_ids, p_attempts) with ordinality as u(id, attempt, ord) order by u.id) d
    cross join lateral (
      select j.id from public.jobs j
      where j.id = d.id and j.attempts = d.attempt
        and j.status::text = 'running' and j.lease_owner = p_worker
      limit 1
      for no key update
    ) f;
  if v_ids is null then
    return;
  end if;

  -- 2. Finish the locked rows (by primary key) and roll them up.
  return query
  with done as (
    update public.jobs j
       set status = 'succeeded', finished_at = now(),
           lease_owner = null, lease_expires_at = null,
           result = case when v_results is null then j.result
                         else coalesce(v_results -> j.id::text, j.result) end
     where j.id = any(v_ids)
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
