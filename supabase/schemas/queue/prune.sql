-- prune(): retention from seed 002, in bounded batches so it never holds long locks.
-- Succeeded after p_succeeded_hours, dead/canceled after p_failed_days, never before
-- the job's keep_until; old rollup rows and long-silent worker rows too. Returns the
-- number of jobs deleted. History: 20261222120000_api_choice_expiry.sql (keep_until).
create or replace function public.prune(
  p_succeeded_hours integer default 24, p_failed_days integer default 7, p_limit integer default 5000)
returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare v_count integer;
begin
  delete from public.jobs j
   where j.id in (select x.id from public.jobs x
                   where ((x.status = 'succeeded' and x.finished_at < now() - make_interval(hours => p_succeeded_hours))
                       or (x.status in ('dead', 'canceled') and x.finished_at < now() - make_interval(days => p_failed_days)))
                     and (x.keep_until is null or x.keep_until < now())
                   limit p_limit for update skip locked);
  get diagnostics v_count = row_count;
  delete from public.job_stats where bucket < now() - make_interval(days => p_failed_days + 1);
  delete from public.workers where last_heartbeat_at < now() - interval '1 day';
  return v_count;
end
$$;

revoke execute on function public.prune(integer, integer, integer) from public, anon, authenticated;
grant execute on function public.prune(integer, integer, integer) to service_role;
