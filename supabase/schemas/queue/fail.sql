-- fail(worker, id, attempt, error, retry_in_ms): record a failed attempt.
-- p_retry_in_ms null means permanent (bad input, user blocked the bot): dead at once.
-- Otherwise the job is queued again p_retry_in_ms from now, or dead when it has used
-- its last attempt. The backoff itself is computed by the caller (src/worker/retry.ts),
-- per job kind. Fenced like complete(). Returns the row's new status and run_at.
create or replace function public.fail(
  p_worker text, p_id bigint, p_attempt integer, p_error text, p_retry_in_ms integer)
returns table (status public.job_status, run_at timestamptz)
language plpgsql volatile security definer set search_path = ''
as $$
begin
  return query
  update public.jobs j
     set status = x.next_status,
         run_at = case when x.next_status = 'queued'
                       then now() + make_interval(secs => p_retry_in_ms / 1000.0) else j.run_at end,
         finished_at = case when x.next_status = 'dead' then now() else null end,
         last_error = left(p_error, 4000),
         lease_owner = null, lease_expires_at = null
    from (select case when p_retry_in_ms is null or jj.attempts >= jj.max_attempts
                      then 'dead'::public.job_status else 'queued'::public.job_status end
            from public.jobs jj where jj.id = p_id) as x(next_status)
   where j.id = p_id and j.status = 'running'
     and j.lease_owner = p_worker and j.attempts = p_attempt
  returning j.status, j.run_at;
end
$$;

revoke execute on function public.fail(text, bigint, integer, text, integer) from public, anon, authenticated;
grant execute on function public.fail(text, bigint, integer, text, integer) to service_role;
