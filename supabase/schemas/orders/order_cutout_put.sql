-- order_cutout_put(unique_id, b64, framed_reason): the cut-out the bot made when the photo
-- was accepted (PNG; or the photo to frame and why), kept with the photo (order_photo_put)
-- so the render job builds on it instead of cutting out again. No photo row: nothing.
create or replace function public.order_cutout_put(p_unique_id text, p_b64 text, p_framed_reason text)
returns void
language sql volatile security definer set search_path = ''
as $$
  update public.order_photos set cutout = decode(p_b64, 'base64'), framed_reason = p_framed_reason
   where unique_id = p_unique_id
$$;

revoke execute on function public.order_cutout_put(text, text, text) from public, anon, authenticated;
grant execute on function public.order_cutout_put(text, text, text) to service_role;
