-- Operator actions (CLI, admin dashboard). One function each; none takes SQL text.

-- retry_job(id): put a dead or canceled job back in the queue with a fresh attempt budget.
create function public.retry_job(p_id bigint)
returns setof public.jobs
language plpgsql volatile security definer set search_path = ''
as $$
begin
  return query
  update public.jobs j
     set status = 'queued', attempts = 0, run_at = now(), finished_at = null,
         lease_owner = null, lease_expires_at = null
   where j.id = p_id and j.status in ('dead', 'canceled')
  returning j.*;
  perform pg_notify('neurocards_jobs', '');
end
$$;

-- requeue_dead(kind, limit): redrive dead jobs in bulk, optionally of one kind.
create function public.requeue_dead(p_kind text default null, p_limit integer default 10000)
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

-- cancel_job(id): a queued job is canceled at once. A running one is marked canceled
-- too; its worker's complete() is then fenced out (status is no longer running), so
-- its effect is not recorded and later stages (delivery) check the order's status.
create function public.cancel_job(p_id bigint)
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

-- get_job(id): one job, for status pages and tests.
create function public.get_job(p_id bigint)
returns setof public.jobs
language sql stable security definer set search_path = ''
as $$ select * from public.jobs where id = p_id $$;

-- prune(): retention from seed 002, in bounded batches so it never holds long locks.
-- Succeeded after p_succeeded_hours, dead/canceled after p_failed_days; old rollup
-- rows and long-silent worker rows too. Returns the number of jobs deleted.
create function public.prune(
  p_succeeded_hours integer default 24, p_failed_days integer default 7, p_limit integer default 5000)
returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare v_count integer;
begin
  delete from public.jobs j
   where j.id in (select x.id from public.jobs x
                   where (x.status = 'succeeded' and x.finished_at < now() - make_interval(hours => p_succeeded_hours))
                      or (x.status in ('dead', 'canceled') and x.finished_at < now() - make_interval(days => p_failed_days))
                   limit p_limit for update skip locked);
  get diagnostics v_count = row_count;
  delete from public.job_stats where bucket < now() - make_interval(days => p_failed_days + 1);
  delete from public.workers where last_heartbeat_at < now() - interval '1 day';
  return v_count;
end
$$;

revoke execute on function public.retry_job(bigint), public.requeue_dead(text, integer),
  public.cancel_job(bigint), public.get_job(bigint), public.prune(integer, integer, integer)
  from public, anon, authenticated;
grant execute on function public.retry_job(bigint), public.requeue_dead(text, integer),
  public.cancel_job(bigint), public.get_job(bigint), public.prune(integer, integer, integer)
  to service_role;
