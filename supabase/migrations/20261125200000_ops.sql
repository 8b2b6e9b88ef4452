-- Operations (issue 7): what the dashboard and `neurocards jobs` read. One function per
-- operation, read-only, SECURITY DEFINER with an empty search_path, EXECUTE for
-- service_role only (the tables themselves stay behind RLS).

-- list_jobs(status, kind, limit): the newest jobs in one state, for the dashboard and
-- `neurocards jobs --status dead`. p_status 'failed' means queued again after a failed
-- attempt (retrying). Each state is read through its partial index, never a scan of
-- finished jobs.
create function public.list_jobs(p_status text, p_kind text default null, p_limit integer default 20)
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

-- job_history(minutes): per-minute succeeded (from the job_stats rollup) and jobs gone
-- dead (from the dead partial index) over the last p_minutes, oldest first, every
-- minute present (zeros included) so a chart needs no gap filling.
create function public.job_history(p_minutes integer default 60)
returns table (minute timestamptz, succeeded bigint, failed bigint)
language sql stable security definer set search_path = ''
as $$
  with span as (
    select generate_series(date_trunc('minute', now()) - make_interval(mins => least(greatest(p_minutes, 1), 1440) - 1),
                           date_trunc('minute', now()), interval '1 minute') as minute
  ),
  ok as (
    select s.bucket as minute, sum(s.succeeded)::bigint as n from public.job_stats s
     where s.bucket >= (select min(minute) from span) group by s.bucket
  ),
  bad as (
    select date_trunc('minute', j.finished_at) as minute, count(*)::bigint as n from public.jobs j
     where j.status = 'dead' and j.finished_at >= (select min(minute) from span) group by 1
  )
  select span.minute, coalesce(ok.n, 0), coalesce(bad.n, 0)
    from span left join ok using (minute) left join bad using (minute)
   order by span.minute
$$;

revoke execute on function public.list_jobs(text, text, integer), public.job_history(integer)
  from public, anon, authenticated;
grant execute on function public.list_jobs(text, text, integer), public.job_history(integer)
  to service_role;
