-- claim(worker, limit, lease): take up to p_limit runnable jobs for p_worker, in ONE statement.
--
-- Why one statement: the rows are locked by FOR UPDATE SKIP LOCKED in the CTEs and
-- marked running by the outer UPDATE before the statement (and its transaction, one
-- per RPC call) ends. A SELECT ... SKIP LOCKED followed by a separate UPDATE releases
-- the lock in between and two workers can take the same job.
--
-- Candidates: running jobs whose lease expired (their worker died: this is crash
-- recovery, no reaper needed) first, then queued jobs due now in fair order.
-- Concurrent claimers skip each other's locked rows instead of waiting.
-- A job whose lease expired on its last attempt goes to dead instead of running
-- again, so a job that kills its process every time cannot loop forever.
-- `id = any(array(...))` in the UPDATE keeps it a primary-key lookup of the picked ids:
-- a join against the CTEs is planned for an unknown limit and turned into a hash join
-- over a sequential scan of the whole table.
--
-- A database restart does not count against leases. While Postgres is down nobody can
-- heartbeat, so every lease that ran out during the downtime looks expired the moment it
-- is back, and the first instance to reconnect would take over jobs that other, live
-- instances are still running (sending the same card twice). So an expired lease is
-- taken over only once the database has been up for a whole lease: every live holder
-- has had that long to reconnect and renew, and the jobs of a holder that died meanwhile
-- are recovered one lease later. pg_postmaster_start_time() is a constant per call, so
-- the CTE's plan is unchanged.
--
-- The claim's commit does not wait for the WAL flush (commits are what bound a
-- Postgres queue: one fsync each). Safe for a claim and only for a claim: a claim lost
-- to a database crash (the last ~wal_writer_delay x 3 of them) leaves its job runnable,
-- the worker's complete()/fail() is then fenced off and the job runs again, exactly as
-- after a lost lease, which every job already tolerates. The next synchronous commit
-- (any complete, enqueue or fail) flushes it anyway. enqueue() and complete() keep
-- synchronous commits: an order or an outcome that was acknowledged is never lost.
-- (The comment in the body says "see the first version": that is this paragraph, first
-- written in migration 20261125000200_fn_claim.sql.)
--
-- History: migrations 20261125000200_fn_claim.sql (first version) and
-- 20261201000000_fn_claim_v2.sql (restart rule; the live one).
create or replace function public.claim(p_worker text, p_limit integer, p_lease_seconds integer)
returns setof public.jobs
language plpgsql volatile security definer set search_path = ''
as $$
begin
  -- Not waiting for the WAL flush is safe for a claim and only for a claim; see the
  -- first version for why.
  perform set_config('synchronous_commit', 'off', true);
  return query
  with expired as (
    select j.id from public.jobs j
    where j.status = 'running' and j.lease_expires_at < now()
      and pg_catalog.pg_postmaster_start_time() < now() - make_interval(secs => p_lease_seconds)
    order by j.lease_expires_at
    limit p_limit
    for update skip locked
  ),
  due as (
    select j.id from public.jobs j
    where j.status = 'queued' and j.run_at <= now()
    order by j.priority, j.vtime, j.id          -- matches jobs_claim_idx
    limit greatest(p_limit - (select count(*) from expired), 0)
    for update skip locked
  ),
  taken as (
    -- The rows are ours (locked above), so their status tells which CTE picked them:
    -- a running row is an expired lease, exhausted when it was on its last attempt.
    -- `id = any(array(...))` keeps this a primary-key lookup of the picked ids.
    update public.jobs j set
      status           = case when (j.status = 'running' and j.attempts >= j.max_attempts) then 'dead'::public.job_status else 'running' end,
      attempts         = j.attempts + case when (j.status = 'running' and j.attempts >= j.max_attempts) then 0 else 1 end,
      lease_owner      = case when (j.status = 'running' and j.attempts >= j.max_attempts) then null else p_worker end,
      lease_expires_at = case when (j.status = 'running' and j.attempts >= j.max_attempts) then null
                              else now() + make_interval(secs => p_lease_seconds) end,
      started_at       = case when (j.status = 'running' and j.attempts >= j.max_attempts) then j.started_at else now() end,
      finished_at      = case when (j.status = 'running' and j.attempts >= j.max_attempts) then now() else null end,
      last_error       = case when j.status = 'running'
                              then 'lease expired: worker ' || coalesce(j.lease_owner, '?') || ' stopped heartbeating'
                                   || case when (j.status = 'running' and j.attempts >= j.max_attempts) then ' on the last attempt' else '' end
                              else j.last_error end
    where j.id = any(array(select id from expired union all select id from due))
    returning j.*
  )
  select * from taken t where t.status = 'running';
end
$$;

revoke execute on function public.claim(text, integer, integer) from public, anon, authenticated;
grant execute on function public.claim(text, integer, integer) to service_role;
