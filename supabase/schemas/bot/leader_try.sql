-- leader_try(name, holder, ttl): take or extend the lease; true while holder has it.
-- The conditional upsert is atomic: of two instances racing for an expired lease,
-- the second's update re-checks the row the first just wrote and finds it taken.
create or replace function public.leader_try(p_name text, p_holder text, p_ttl_seconds integer)
returns boolean
language plpgsql volatile security definer set search_path = ''
as $$
begin
  insert into public.leader_leases as l (name, holder, expires_at)
  values (p_name, p_holder, now() + make_interval(secs => p_ttl_seconds))
  on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
   where l.holder = excluded.holder or l.expires_at < now();
  return found;
end
$$;

revoke execute on function public.leader_try(text, text, integer) from public, anon, authenticated;
grant execute on function public.leader_try(text, text, integer) to service_role;
