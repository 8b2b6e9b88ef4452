-- requeue_dead(kind, limit): redrive dead jobs in bulk, optionally of one kind.
create or replace function public.requeue_dead(p_kind text default null, p_limit integer default 10000)
returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare v_count integer;
begin
  update public.jobs j
     set status = 'queued', attempts = 0, run_at = now(), finished_at = null
   where j.id in (select x.id from public.jobs x
                   where x.status = 'dead' and (p_kind is null or x.kind = p_kind)
                   order by x.id limit p_limit for update skip locked);
  get diagnostics v_count = row_count;
  if v_count > 0 then perform pg_notify('neurocards_jobs', ''); end if;
  return v_count;
end
$$;

revoke execute on function public.requeue_dead(text, integer) from public, anon, authenticated;
grant execute on function public.requeue_dead(text, integer) to service_role;
