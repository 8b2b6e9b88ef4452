-- heartbeat(worker, ..., ids): ONE call per instance every lease/2. Registers or
-- refreshes the instance in workers (what /queue counts as live) and extends the
-- leases of the jobs it names and still owns. Only the named ones: a job the process
-- has lost track of must expire and be recovered, not be kept alive forever.
-- Returns the ids still owned (canceled = false), and the named ids that were canceled
-- meanwhile (cancel_job(); canceled = true): the caller aborts those jobs' signals and
-- records nothing for them. A named id in neither was taken over after our lease lapsed,
-- and the caller must abandon it.
-- History: 20261125000300_fn_heartbeat.sql, 20261221000000_job_cancel.sql (canceled ids).
create or replace function public.heartbeat(
  p_worker text, p_concurrency integer, p_in_flight integer, p_lease_seconds integer,
  p_meta jsonb, p_ids bigint[])
returns table (id bigint, canceled boolean)
language plpgsql volatile security definer set search_path = ''
as $$
#variable_conflict use_column
begin
  insert into public.workers as w (id, concurrency, in_flight, lease_seconds, meta)
  values (p_worker, p_concurrency, p_in_flight, p_lease_seconds, coalesce(p_meta, '{}'::jsonb))
  on conflict (id) do update
    set concurrency = excluded.concurrency, in_flight = excluded.in_flight,
        lease_seconds = excluded.lease_seconds, meta = excluded.meta,
        last_heartbeat_at = now();

  -- Fenced by owner: rows another worker took over are not touched.
  return query
    update public.jobs j
       set lease_expires_at = now() + make_interval(secs => p_lease_seconds)
     where j.id = any(p_ids) and j.status = 'running' and j.lease_owner = p_worker
    returning j.id, false;
  -- cancel_job() ends a running job at once (status canceled, no owner): the holder
  -- learns it here, within half a lease, and stops the work.
  if exists (select from unnest(p_ids)) then
    return query
      select j.id, true from public.jobs j
       where j.id = any(p_ids) and j.status = 'canceled';
  end if;
end
$$;

revoke execute on function public.heartbeat(text, integer, integer, integer, jsonb, bigint[]) from public, anon, authenticated;
grant execute on function public.heartbeat(text, integer, integer, integer, jsonb, bigint[]) to service_role;
