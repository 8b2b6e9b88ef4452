-- claim(), second version (supersedes 20261125000200_fn_claim.sql; same signature and
-- result). One change: a database restart no longer counts against leases.
--
-- While Postgres is down nobody can heartbeat, so every lease that ran out during the
-- downtime looks expired the moment it is back, and the first instance to reconnect
-- took over jobs that other, live instances were still running (sending the same card
-- twice). Now an expired lease is taken over only once the database has been up for a
-- whole lease: every live holder has had that long to reconnect and renew, and the
-- jobs of a holder that died meanwhile are recovered one lease later than before.
-- pg_postmaster_start_time() is a constant per call, so the CTE's plan is unchanged.
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
