-- order_delivery_begin(id, part, attempt, worker, job, deadline_ms): log a send about to
-- happen and return the order as it is right now (a cancel that landed meanwhile is seen here).
--
-- Fenced by the job's lease: the send that follows cannot be undone, so only the attempt
-- that holds the deliver job's lease may start one: the job must be running, leased to
-- p_worker, on attempt p_attempt (the same fence as complete() and fail()). An attempt
-- whose lease was taken over or handed back (shutdown) gets {"fenced": true} and sends
-- nothing; the attempt that owns the job now sends instead. Without the fence, a process
-- that lost its lease while cut off from the database went on to send a part the new
-- owner was sending too. p_job defaults to null (no fence) so an instance still running
-- the code from before the fence kept working through the rolling deploy.
--
-- The fence is checked when a send begins, but a send can outlive the lease (a slow
-- album upload on a loaded machine whose heartbeat came late). So each send is begun
-- with a deadline (now() + p_deadline_ms, stored in deadline_at): the caller aborts its
-- HTTP call before then and commits any answer before then. Another attempt that
-- finds the same part begun, not committed and before its deadline gets
-- {"wait_until": deadline} and sends nothing now (the job comes back then). A part
-- already committed gets {"done": true} (the lapsed attempt's send finished and was
-- recorded while this attempt was starting). p_deadline_ms null: no deadline (old code).
--
-- History: migrations 20261125100100_fn_orders.sql (4 arguments, unfenced),
-- 20261201000100_fn_delivery_begin_fenced.sql (5 arguments, fenced) and
-- 20261225100000_fn_delivery_begin_deadline.sql (drops it; the live one).
create or replace function public.order_delivery_begin(
  p_id bigint, p_part text, p_attempt integer, p_worker text, p_job bigint default null,
  p_deadline_ms integer default null)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v public.orders;
  v_wait timestamptz;
begin
  select * into v from public.orders where id = p_id;
  if not found then return null; end if;
  if p_job is not null and not exists (
    select 1 from public.jobs j
     where j.id = p_job and j.status = 'running' and j.lease_owner = p_worker and j.attempts = p_attempt) then
    return to_jsonb(v) || jsonb_build_object('fenced', true);
  end if;
  if exists (select 1 from public.order_deliveries d
              where d.order_id = p_id and d.part = p_part and d.committed_at is not null) then
    return to_jsonb(v) || jsonb_build_object('done', true);
  end if;
  if v.status in ('queued', 'rendering', 'awaiting_choice', 'rendered') then
    select max(d.deadline_at) into v_wait from public.order_deliveries d
     where d.order_id = p_id and d.part = p_part and d.committed_at is null
       and d.attempt <> p_attempt and d.deadline_at > clock_timestamp();
    if v_wait is not null then
      return to_jsonb(v) || jsonb_build_object('wait_until', v_wait);
    end if;
    insert into public.order_deliveries (order_id, part, attempt, worker, deadline_at)
    values (p_id, p_part, p_attempt, p_worker, now() + p_deadline_ms * interval '1 millisecond');
  end if;
  return to_jsonb(v);
end
$$;

revoke execute on function public.order_delivery_begin(bigint, text, integer, text, bigint, integer) from public, anon, authenticated;
grant execute on function public.order_delivery_begin(bigint, text, integer, text, bigint, integer) to service_role;
