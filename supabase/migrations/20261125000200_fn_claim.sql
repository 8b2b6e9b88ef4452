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
create function public.claim(p_worker text, p_limit integer, p_lease_seconds integer)
returns setof public.jobs
language plpgsql volatile security definer set search_path = ''
as $$
begin
  return query
  with expired as (
    select j.id, j.attempts >= j.max_attempts as exhausted from public.jobs j
    where j.status = 'running' and j.lease_expires_at < now()
    order by j.lease_expires_at
    limit p_limit
    for update skip locked
  ),
  due as (
    select j.id, false as exhausted from public.jobs j
    where j.status = 'queued' and j.run_at <= now()
    order by j.priority, j.vtime, j.id          -- matches jobs_claim_idx
    limit greatest(p_limit - (select count(*) from expired), 0)
    for update skip locked
  ),
  picked as (
    select * from expired union all select * from due
  ),
  taken as (
    update public.jobs j set
      status           = case when picked.exhausted then 'dead'::public.job_status else 'running' end,
      attempts         = j.attempts + case when picked.exhausted then 0 else 1 end,
      lease_owner      = case when picked.exhausted then null else p_worker end,
      lease_expires_at = case when picked.exhausted then null
                              else now() + make_interval(secs => p_lease_seconds) end,
      started_at       = case when picked.exhausted then j.started_at else now() end,
      finished_at      = case when picked.exhausted then now() else null end,
      last_error       = case when j.status = 'running'
                              then 'lease expired: worker ' || coalesce(j.lease_owner, '?') || ' stopped heartbeating'
                                   || case when picked.exhausted then ' on the last attempt' else '' end
                              else j.last_error end
    from picked
    where j.id = picked.id
    returning j.*
  )
  select * from taken t where t.status = 'running';
end
$$;

revoke execute on function public.claim(text, integer, integer) from public, anon, authenticated;
grant execute on function public.claim(text, integer, integer) to service_role;
