-- job_eta(p_job_id): where a job stands and when it should be done, from measurements:
-- the jobs queued and due ahead of it in claim order (priority, vtime, id; every kind
-- shares the fleet), the live workers' slots, and the p50 duration of its kind over the
-- last hour of the job_stats rollup (its duration histogram, interpolated inside the
-- bucket). estimate_seconds = p50 × (ahead ÷ slots + 1) while queued; the p50 less the
-- time it has run while running. Without an hour's measurement of the kind: p_default_ms,
-- and measured = false. Null for an unknown job.
create or replace function public.job_eta(p_job_id bigint, p_default_ms integer default 1500)
returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_job   public.jobs;
  v_ahead integer := 0;
  v_slots integer;
  v_total bigint;
  v_cum   bigint := 0;
  v_p50   double precision;
  r       record;
begin
  select * into v_job from public.jobs where id = p_job_id;
  if not found then return null; end if;
  if v_job.status = 'queued' then
    select count(*) into v_ahead from public.jobs j
     where j.status = 'queued' and j.run_at <= now()
       and (j.priority, j.vtime, j.id) < (v_job.priority, v_job.vtime, v_job.id);
  end if;
  select coalesce(sum(w.concurrency), 0) into v_slots from public.workers w
   where w.last_heartbeat_at > now() - make_interval(secs => 2 * w.lease_seconds);
  -- Bucket i (1-based) of dur_hist counts durations in [2^(i-2), 2^(i-1)) ms.
  select sum(s.succeeded) into v_total from public.job_stats s
   where s.kind = v_job.kind and s.bucket > now() - interval '1 hour';
  if coalesce(v_total, 0) > 0 then
    for r in select h.i, sum(s.dur_hist[h.i])::bigint as n
               from public.job_stats s, generate_series(1, 24) as h(i)
              where s.kind = v_job.kind and s.bucket > now() - interval '1 hour'
              group by h.i order by h.i loop
      if r.n > 0 and v_cum + r.n >= v_total / 2.0 then
        v_p50 := case when r.i = 1 then 0.5
                      else power(2, r.i - 2) + (v_total / 2.0 - v_cum) / r.n * power(2, r.i - 2) end;
        exit;
      end if;
      v_cum := v_cum + r.n;
    end loop;
  end if;
  return jsonb_build_object(
    'kind', v_job.kind, 'status', v_job.status,
    'position', case when v_job.status = 'queued' then v_ahead + 1 end,
    'ahead', v_ahead, 'slots', v_slots,
    'p50_ms', round(coalesce(v_p50, p_default_ms)::numeric, 1), 'measured', v_p50 is not null,
    'estimate_seconds', case
      when v_job.status = 'queued' then ceil((v_ahead::double precision / greatest(v_slots, 1) + 1) * coalesce(v_p50, p_default_ms) / 1000.0)::int
      when v_job.status = 'running' then greatest(1, ceil(coalesce(v_p50, p_default_ms) / 1000.0
                                                  - extract(epoch from now() - coalesce(v_job.started_at, now())))::int)
      end);
end
$$;

revoke execute on function public.job_eta(bigint, integer) from public, anon, authenticated;
grant execute on function public.job_eta(bigint, integer) to service_role;
