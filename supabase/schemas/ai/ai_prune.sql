-- ai_prune(hours, limit): retention of the paid-call ledger's image bytes. A backdrop is
-- needed only while its order is being made (a retried job reuses it); after `hours` the
-- bytes go and the row stays (its cost keeps counting in ai_cost_stats; a claim of it
-- then finds no image and that variant gets a local backdrop). Small SKIP LOCKED batches,
-- like the queue's prune. Returns the rows cleared.
create or replace function public.ai_prune(p_bytes_hours integer default 24, p_limit integer default 500)
returns integer
language sql volatile security definer set search_path = ''
as $$
  with old as (
    select c.call_key from public.ai_calls c
     where c.result is not null and c.recorded_at < now() - make_interval(hours => p_bytes_hours)
     limit p_limit for update skip locked
  ), cleared as (
    update public.ai_calls c set result = null from old where c.call_key = old.call_key returning 1
  )
  select count(*)::integer from cleared
$$;

revoke execute on function public.ai_prune(integer, integer) from public, anon, authenticated;
grant execute on function public.ai_prune(integer, integer) to service_role;
