-- order_set_ack(id, message_id): the bot's "queued" message, edited as the order moves.
create or replace function public.order_set_ack(p_id bigint, p_message_id bigint)
returns jsonb
language sql volatile security definer set search_path = ''
as $$
  update public.orders set ack_message_id = p_message_id, ack_edited_at = now(), updated_at = now()
   where id = p_id returning to_jsonb(orders.*)
$$;

revoke execute on function public.order_set_ack(bigint, bigint) from public, anon, authenticated;
grant execute on function public.order_set_ack(bigint, bigint) to service_role;
