-- api_prune(): old rate windows and usage rows; hands out (and forgets) up to 500
-- Storage paths whose cards were deleted with their jobs, for the app to remove.
create or replace function public.api_prune()
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_paths jsonb;
begin
  delete from public.api_rate where window_start < now() - interval '10 minutes';
  delete from public.api_usage where day < (now() at time zone 'utc')::date - 40;
  with taken as (
    delete from public.api_trash t where t.path in (select x.path from public.api_trash x limit 500 for update skip locked)
    returning t.path
  )
  select coalesce(jsonb_agg(path), '[]'::jsonb) into v_paths from taken;
  return v_paths;
end
$$;

revoke execute on function public.api_prune() from public, anon, authenticated;
grant execute on function public.api_prune() to service_role;
