-- order_start_render(id): queued → rendering, and what the render-card job (cut-out, then
-- the 3 variants) needs. Returns the order plus: cut (the cut-out is recorded),
-- variants_done, and bytes only for the stage still to run: the recorded cut-out until
-- the variants are recorded; before the cut-out, the one the bot made at upload
-- (upload_cutout_b64 + upload_framed_reason) when there is one. Null when the order is gone.
-- History: 20261125100100_fn_orders.sql (has_card), 20261220120000_bot_generation.sql (stages).
create or replace function public.order_start_render(p_id bigint)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  update public.orders
     set status = 'rendering', render_started_at = coalesce(render_started_at, now()), updated_at = now()
   where id = p_id and status in ('queued', 'rendering') and variants_at is null
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id;
    if not found then return null; end if;
  end if;
  return to_jsonb(v) || jsonb_build_object(
    'cut', v.cutout_at is not null,
    'variants_done', v.variants_at is not null,
    'cutout_b64', case when v.cutout_at is not null and v.variants_at is null then (select translate(encode(i.bytes, 'base64'), E'\n', '')
       from public.order_images i where i.order_id = v.id and i.role = 'cutout' and i.n = 0) end,
    'upload_cutout_b64', case when v.cutout_at is null then (select translate(encode(p.cutout, 'base64'), E'\n', '')
       from public.order_photos p where p.unique_id = v.photo_unique_id) end,
    'upload_framed_reason', case when v.cutout_at is null then (select p.framed_reason
       from public.order_photos p where p.unique_id = v.photo_unique_id) end);
end
$$;

revoke execute on function public.order_start_render(bigint) from public, anon, authenticated;
grant execute on function public.order_start_render(bigint) to service_role;
