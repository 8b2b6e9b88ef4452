-- order_delivery_end(id, part, attempt): the send this attempt began ended with no answer to
-- record (Telegram refused it, the connection dropped, or it was cut off at its deadline).
-- It is no longer sending, so another attempt need not wait for its deadline (see
-- order_delivery_begin): its deadline becomes now. The row stays uncommitted: a cut-off
-- call may still have been taken by Telegram, and that possible duplicate stays counted.
-- History: 20261225100000_fn_delivery_begin_deadline.sql.
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
