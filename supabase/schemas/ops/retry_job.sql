-- retry_job(id): put a dead or canceled job back in the queue with a fresh attempt budget.
create or replace function public.retry_job(p_id bigint)
returns setof public.jobs
language plpgsql volatile security definer set search_path = ''
as $$
begin
  return query
  update public.jobs j
     set status = 'queued', attempts = 0, run_at = now(), finished_at = null,
         lease_owner = null, lease_expires_at = null
   where j.id = p_id and j.status in ('dead', 'canceled')
  returning j.*;
  perform pg_notify('neurocards_jobs', '');
end
$$;

revoke execute on function public.retry_job(bigint) from public, anon, authenticated;
grant execute on function public.retry_job(bigint) to service_role;
