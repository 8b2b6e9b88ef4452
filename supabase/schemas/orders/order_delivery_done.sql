-- order_delivery_done(id, part, message_id, file_id, answered_at): store what Telegram
-- answered. This is the commit that closes the duplicate window (see order_deliveries).
-- Parts: variants (album) and choice (1/2/3 buttons) after the variants; slides (the set's
-- album: main picture's file_id) and zip (the document; the order is sent) after the set.
-- History: 20261125100100_fn_orders.sql, 20261220120000_bot_generation.sql (parts).
create or replace function public.order_delivery_done(
  p_id bigint, p_part text, p_message_id bigint, p_file_id text, p_answered_at timestamptz)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  update public.order_deliveries
     set answered_at = p_answered_at, committed_at = clock_timestamp(), message_id = p_message_id
   where id = (select max(d.id) from public.order_deliveries d
                where d.order_id = p_id and d.part = p_part and d.committed_at is null);
  if p_part = 'variants' then
    update public.orders set variants_message_id = p_message_id, updated_at = now() where id = p_id returning * into v;
  elsif p_part = 'choice' then
    update public.orders set choice_message_id = p_message_id, updated_at = now() where id = p_id returning * into v;
  elsif p_part in ('photo', 'slides') then
    update public.orders set photo_message_id = p_message_id, photo_out_file_id = p_file_id, updated_at = now()
     where id = p_id returning * into v;
  else
    update public.orders
       set document_message_id = p_message_id, document_file_id = p_file_id, updated_at = now(),
           delivered_at = coalesce(delivered_at, now()),
           status = case when status in ('queued', 'rendering', 'awaiting_choice', 'rendered') then 'sent' else status end
     where id = p_id returning * into v;
  end if;
  return to_jsonb(v);
end
$$;

revoke execute on function public.order_delivery_done(bigint, text, bigint, text, timestamp with time zone) from public, anon, authenticated;
grant execute on function public.order_delivery_done(bigint, text, bigint, text, timestamp with time zone) to service_role;
