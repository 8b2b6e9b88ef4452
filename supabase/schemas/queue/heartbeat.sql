-- heartbeat(worker, ..., ids): ONE call per instance every lease/2. Registers or
-- refreshes the instance in workers (what /queue counts as live) and extends the
-- leases of the jobs it names and still owns. Only the named ones: a job the process
-- has lost track of must expire and be recovered, not be kept alive forever.
-- Returns the ids still owned: a job missing from the answer was taken over after
-- our lease lapsed, and the caller must abandon it.
create or replace function public.heartbeat(
  p_worker text, p_concurrency integer, p_in_flight integer, p_lease_seconds integer,
  p_meta jsonb, p_ids bigint[])
returns setof bigint
language plpgsql volatile security definer set search_path = ''
as $$
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
    returning j.id;
end
$$;

revoke execute on function public.heartbeat(text, integer, integer, integer, jsonb, bigint[]) from public, anon, authenticated;
grant execute on function public.heartbeat(text, integer, integer, integer, jsonb, bigint[]) to service_role;
