-- list_jobs(status, kind, limit): the newest jobs in one state, for the dashboard and
-- `neurocards jobs --status dead`. p_status 'failed' means queued again after a failed
-- attempt (retrying). Each state is read through its partial index, never a scan of
-- finished jobs.
create or replace function public.list_jobs(p_status text, p_kind text default null, p_limit integer default 20)
returns setof public.jobs
language plpgsql stable security definer set search_path = ''
as $$
begin
  if p_status not in ('queued', 'running', 'succeeded', 'dead', 'canceled', 'failed') then
    raise exception 'unknown job status "%" (queued, running, succeeded, dead, canceled, failed)', p_status
      using errcode = '22023';
  end if;
  return query
  select j.* from public.jobs j
   where (case when p_status = 'failed'
               then j.status = 'queued' and j.last_error is not null
               else j.status = p_status::public.job_status end)
     and (p_kind is null or j.kind = p_kind)
   order by coalesce(j.finished_at, j.run_at) desc, j.id desc
   limit least(greatest(p_limit, 1), 1000);
end
$$;

revoke execute on function public.list_jobs(text, text, integer) from public, anon, authenticated;
grant execute on function public.list_jobs(text, text, integer) to service_role;
