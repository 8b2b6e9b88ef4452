-- release(worker, ids): hand jobs back on shutdown without spending an attempt.
-- Fenced by owner; the claim's attempts+1 is undone so the retry budget is intact.
create or replace function public.release(p_worker text, p_ids bigint[])
returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare v_count integer;
begin
  update public.jobs j
     set status = 'queued', attempts = greatest(j.attempts - 1, 0), run_at = now(),
         lease_owner = null, lease_expires_at = null, started_at = null
   where j.id = any(p_ids) and j.status = 'running' and j.lease_owner = p_worker;
  get diagnostics v_count = row_count;
  if v_count > 0 then
    perform pg_notify('neurocards_jobs', '');
  end if;
  return v_count;
end
$$;

revoke execute on function public.release(text, bigint[]) from public, anon, authenticated;
grant execute on function public.release(text, bigint[]) to service_role;
