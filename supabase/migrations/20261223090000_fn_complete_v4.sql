-- complete(), fourth version (supersedes 20261201100000_fn_complete_v3.sql; same signature
-- and result). One statement fences and finishes the batch: the fence (status running,
-- owner, attempt looked up by id in a jsonb object) moves into the UPDATE's WHERE, which
-- Postgres re-checks on the newest row version when a concurrent claim or heartbeat got
-- there first. v3's separate lock pass (SELECT ... FOR NO KEY UPDATE) wrote a WAL record
-- and walked the primary key once more per job. enable_bitmapscan is off for the function
-- so that the UPDATE is a plain primary-key index scan, which locks in id order as v3's
-- lock pass did. The current definition and the full reasoning: supabase/schemas/queue/complete.sql.
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
