-- bot_prune(): retention for the bot's tables, in bounded batches.
create or replace function public.bot_prune()
returns integer
language plpgsql volatile security definer set search_path = ''
as $$
declare v_count integer;
begin
  delete from public.processed_updates p
   where p.update_id in (select x.update_id from public.processed_updates x
                          where x.processed_at < now() - interval '1 day' limit 10000);
  get diagnostics v_count = row_count;
  delete from public.order_quota where day < (now() at time zone 'utc')::date - 2;
  delete from public.rate_usage where window_start < now() - interval '2 days';
  delete from public.leader_leases where expires_at < now() - interval '1 day';
  -- history re-sends use Telegram's file_ids; the bytes are only needed until delivery
  delete from public.order_images c using public.orders o
   where o.id = c.order_id and o.status in ('sent', 'canceled', 'failed', 'undeliverable')
     and o.updated_at < now() - interval '7 days';
  -- photos stored at upload: a day, and as long as an open order still needs one
  delete from public.order_photos p
   where p.unique_id in (select x.unique_id from public.order_photos x
                          where x.created_at < now() - interval '1 day'
                            and x.unique_id not in (select o.photo_unique_id from public.orders o
                                                     where o.status in ('queued', 'rendering', 'awaiting_choice', 'rendered')
                                                       and o.photo_unique_id is not null)
                          limit 1000);
  return v_count;
end
$$;

revoke execute on function public.bot_prune() from public, anon, authenticated;
grant execute on function public.bot_prune() to service_role;
