-- order_position(id): where an order's render job stands in the queue, and an estimate.
-- Counts queued render jobs ahead of it in claim order (priority, vtime, id) on the
-- partial claim index; slots = concurrency of live workers; the render time is the
-- measured p50 of render-card jobs over the last hour (job_eta(); it was the mean until
-- 20261221000100_job_eta.sql).
create or replace function public.order_position(p_id bigint)
returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_order public.orders;
  v_job   public.jobs;
  v_ahead integer := 0;
  v_slots integer;
  v_avg_ms double precision;
begin
  select * into v_order from public.orders where id = p_id;
  if not found then return null; end if;
  select * into v_job from public.jobs where id = v_order.render_job_id;
  if found and v_job.status = 'queued' then
    select count(*) into v_ahead from public.jobs j
     where j.status = 'queued' and j.kind = 'render-card'
       and (j.priority, j.vtime, j.id) < (v_job.priority, v_job.vtime, v_job.id);
  end if;
  select coalesce(sum(w.concurrency), 0) into v_slots from public.workers w
   where w.last_heartbeat_at > now() - interval '1 minute';
  v_avg_ms := coalesce((public.job_eta(v_order.render_job_id)->>'p50_ms')::double precision, 1500);
  return jsonb_build_object(
    'position', v_ahead + 1,
    'ahead', v_ahead,
    'workers', v_slots,
    -- render time for the jobs ahead spread over the slots, plus ours, plus sending
    'estimate_seconds', ceil((v_ahead::double precision / greatest(v_slots, 1) + 1) * v_avg_ms / 1000.0) + 3);
end
$$;

revoke execute on function public.order_position(bigint) from public, anon, authenticated;
grant execute on function public.order_position(bigint) to service_role;
