-- order_ack_touch(id, min_interval_ms): permission to edit the ack message now. At most
-- one edit per interval across all instances: the conditional update is the gate (the
-- row lock makes a concurrent second caller re-check and find the fresh timestamp).
-- 0 forces (the final "sent" edit). Returns the order, or null when not allowed.
create or replace function public.order_ack_touch(p_id bigint, p_min_interval_ms integer)
returns jsonb
language sql volatile security definer set search_path = ''
as $$
  update public.orders set ack_edited_at = now()
   where id = p_id and ack_message_id is not null
     and (p_min_interval_ms <= 0 or ack_edited_at is null
          or ack_edited_at < now() - make_interval(secs => p_min_interval_ms / 1000.0))
  returning to_jsonb(orders.*)
$$;

revoke execute on function public.order_ack_touch(bigint, integer) from public, anon, authenticated;
grant execute on function public.order_ack_touch(bigint, integer) to service_role;
