-- api_stats(p_key_id, p_days): seed 001's report for one key: per UTC day and status,
-- the count, and the average and p95 of created→finished seconds (finished jobs only).
create or replace function public.api_stats(p_key_id bigint, p_days integer)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('day', d.day, 'status', d.status, 'count', d.n,
           'avg_seconds', d.avg_s, 'p95_seconds', d.p95_s) order by d.day desc, d.status), '[]'::jsonb)
  from (
    select to_char((j.created_at at time zone 'utc')::date, 'YYYY-MM-DD') as day, j.status::text as status,
           count(*) as n,
           round(avg(extract(epoch from j.finished_at - j.created_at))::numeric, 3) as avg_s,
           round((percentile_cont(0.95) within group (order by extract(epoch from j.finished_at - j.created_at)))::numeric, 3) as p95_s
      from public.api_cards c join public.jobs j on j.id = c.job_id
     where c.key_id = p_key_id
       and c.created_at >= (now() at time zone 'utc')::date - (greatest(p_days, 1) - 1)
     group by 1, 2
  ) d
$$;

revoke execute on function public.api_stats(bigint, integer) from public, anon, authenticated;
grant execute on function public.api_stats(bigint, integer) to service_role;
