-- worker_leave(worker): an instance that stops cleanly deregisters at once, so /queue
-- stops counting it without waiting for its heartbeat to go stale.
create or replace function public.worker_leave(p_worker text)
returns void
language sql volatile security definer set search_path = ''
as $$
  delete from public.workers where id = p_worker;
$$;

revoke execute on function public.worker_leave(text) from public, anon, authenticated;
grant execute on function public.worker_leave(text) to service_role;
