-- order_delivery_begin() with a send deadline (supersedes 20261201000100_fn_delivery_begin_fenced.sql,
-- whose 5-argument function is dropped; p_deadline_ms defaults to null so an instance still
-- running the old code keeps working through a rolling deploy, without the wait).
--
-- The fence was checked only when a send began; an album upload that outlived the lease
-- (the heartbeat came late on a loaded machine) was sent again by the attempt that took
-- the job over. Now every send is begun with a deadline (deadline_at) before which its
-- HTTP call is aborted and its answer committed; another attempt that finds the part
-- begun, not committed and before its deadline is told to wait until then, and a part
-- already committed is reported done; order_delivery_end() (new) lets a send that ended
-- in an error stop holding the others back. Current definitions and reasoning:
-- supabase/schemas/orders/order_delivery_begin.sql and order_delivery_end.sql.
alter table public.order_deliveries add column deadline_at timestamptz;

drop function public.order_delivery_begin(bigint, text, integer, text, bigint);

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

-- order_delivery_end(): a send that ended with no answer to record stops holding other attempts back.
create or replace function public.order_delivery_end(p_id bigint, p_part text, p_attempt integer)
returns void
language plpgsql volatile security definer set search_path = ''
as $$
begin
  update public.order_deliveries d
     set deadline_at = least(d.deadline_at, now())
   where d.order_id = p_id and d.part = p_part and d.attempt = p_attempt and d.committed_at is null;
end
$$;

revoke execute on function public.order_delivery_end(bigint, text, integer) from public, anon, authenticated;
grant execute on function public.order_delivery_end(bigint, text, integer) to service_role;
