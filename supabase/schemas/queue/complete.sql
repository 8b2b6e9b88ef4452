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
-- One statement finds, fences and finishes the batch: an UPDATE by primary key
-- (`id = any(p_ids)`) whose WHERE also holds the fence (status running, owner p_worker, and
-- the attempt the worker ran, looked up by id in a jsonb object built once per batch: an
-- O(log n) lookup per row). The fence sits in the UPDATE's own WHERE, so Postgres re-checks
-- it on the newest row version when a concurrent claim or heartbeat changed the row first
-- (READ COMMITTED's EvalPlanQual): a lease taken over in between is not overwritten. The
-- third version locked the batch in a first pass (SELECT ... FOR NO KEY UPDATE) and updated
-- it in a second: the lock alone wrote a WAL record and walked the primary key once more
-- per job: a quarter of complete()'s WAL records, a sixth of its WAL bytes and a third of
-- its buffer reads (BENCHMARKS.md, "Postgres CPU per job").
--
-- Plans, whatever the statistics say (test/query-plans.test.ts): the only index whose
-- condition the WHERE can use is the primary key: `status::text` keeps the partial index
-- of running rows out (its predicate is not implied; with statistics from a backlog
-- analysed before any worker ran, the planner estimated it empty and walked every running
-- row per id), lease_owner and attempts have no index. enable_bitmapscan is off for this
-- function so the scan is a plain index scan, which visits the sorted array in id order:
-- rows are locked in id order, the order heartbeat() and release() take, so a complete and
-- a heartbeat of the same instance never wait on each other in a cycle. Results, when
-- given, are looked up the same way (a jsonb object keyed by id).
--
-- History: migrations 20261125000400_fn_complete.sql, 20261125400000_fn_complete_v2.sql
-- (linear fence, float8 rollup), 20261201100000_fn_complete_v3.sql (lock pass + update)
-- and 20261223090000_fn_complete_v4.sql (one statement; the live one).
create or replace function public.complete(
  p_worker text, p_ids bigint[], p_attempts integer[], p_results jsonb default null)
returns setof bigint
language plpgsql volatile security definer set search_path = '' set enable_bitmapscan = off
as $$
declare
  v_attempts jsonb;  -- {"<id>": attempt}: the fence's attempt per row
  v_results  jsonb;  -- {"<id>": result}
begin
  select jsonb_object_agg(u.id::text, u.attempt),
         case when p_results is not null then jsonb_object_agg(u.id::text, p_results -> (u.ord::int - 1)) end
    into v_attempts, v_results
    from unnest(p_ids, p_attempts) with ordinality as u(id, attempt, ord);

  -- Fence and finish in one statement (see above), then roll the batch up.
  return query
  with done as (
    update public.jobs j
       set status = 'succeeded', finished_at = now(),
           lease_owner = null, lease_expires_at = null,
           result = case when v_results is null then j.result
                         else coalesce(v_results -> j.id::text, j.result) end
     where j.id = any(p_ids)
       and j.status::text = 'running' and j.lease_owner = p_worker
       and j.attempts = (v_attempts ->> j.id::text)::int
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
