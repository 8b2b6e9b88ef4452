-- leader_release(name, holder): give the lease up (only the holder can).
create or replace function public.leader_release(p_name text, p_holder text)
returns void
language sql volatile security definer set search_path = ''
as $$ delete from public.leader_leases where name = p_name and holder = p_holder $$;

revoke execute on function public.leader_release(text, text) from public, anon, authenticated;
grant execute on function public.leader_release(text, text) to service_role;
