-- cancel_job(id): a queued job is canceled at once. A running one is marked canceled
-- too; its worker's complete() is then fenced out (status is no longer running), so
-- its effect is not recorded and later stages (delivery) check the order's status.
create or replace function public.cancel_job(p_id bigint)
returns setof public.jobs
language plpgsql volatile security definer set search_path = ''
as $$
begin
  return query
  update public.jobs j
     set status = 'canceled', finished_at = now(), lease_owner = null, lease_expires_at = null
   where j.id = p_id and j.status in ('queued', 'running')
  returning j.*;
end
$$;

revoke execute on function public.cancel_job(bigint) from public, anon, authenticated;
grant execute on function public.cancel_job(bigint) to service_role;
