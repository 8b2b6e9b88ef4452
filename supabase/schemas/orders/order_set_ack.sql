-- order_set_ack(id, message_id): the bot's "queued" message, edited as the order moves.
-- Recording it is what delivery waits for: a delivery enqueued before the answer was
-- recorded (order_rendered() gave it a deadline) becomes due now, and the workers are
-- woken. Only a first attempt still waiting is moved, never a retry's backoff.
-- History: 20261125100100_fn_orders.sql (first version), 20261205120000_flow_ack_photos.sql.
create or replace function public.order_set_ack(p_id bigint, p_message_id bigint)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  update public.orders set ack_message_id = p_message_id, ack_edited_at = now(), updated_at = now()
   where id = p_id returning * into v;
  if not found then return null; end if;
  if v.deliver_job_id is not null and p_message_id is not null then
    update public.jobs set run_at = now()
     where id = v.deliver_job_id and status = 'queued' and attempts = 0 and run_at > now();
    if found then perform pg_notify('neurocards_jobs', ''); end if;
  end if;
  return to_jsonb(v);
end
$$;

revoke execute on function public.order_set_ack(bigint, bigint) from public, anon, authenticated;
grant execute on function public.order_set_ack(bigint, bigint) to service_role;
