-- job_history(minutes): per-minute succeeded (from the job_stats rollup) and jobs gone
-- dead (from the dead partial index) over the last p_minutes, oldest first, every
-- minute present (zeros included) so a chart needs no gap filling.
create or replace function public.job_history(p_minutes integer default 60)
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

revoke execute on function public.job_history(integer) from public, anon, authenticated;
grant execute on function public.job_history(integer) to service_role;
