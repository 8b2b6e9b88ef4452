-- order_photo_put(unique_id, b64): the seller's photo as the bot downloaded and checked it
-- at upload, so the render job reads it here instead of downloading it from Telegram a
-- second time. Keyed by Telegram's file_unique_id (the same file sent again, or an
-- "Another variant" of it, finds the same row). bot_prune() removes old ones.
create or replace function public.order_photo_put(p_unique_id text, p_b64 text)
returns void
language sql volatile security definer set search_path = ''
as $$
  insert into public.order_photos (unique_id, bytes) values (p_unique_id, decode(p_b64, 'base64'))
  on conflict (unique_id) do update set created_at = now()
$$;

revoke execute on function public.order_photo_put(text, text) from public, anon, authenticated;
grant execute on function public.order_photo_put(text, text) to service_role;
