-- get_job(id): one job, for status pages and tests.
create or replace function public.get_job(p_id bigint)
returns setof public.jobs
language sql stable security definer set search_path = ''
as $$ select * from public.jobs where id = p_id $$;

revoke execute on function public.get_job(bigint) from public, anon, authenticated;
grant execute on function public.get_job(bigint) to service_role;
