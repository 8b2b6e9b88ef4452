-- order_set_input(id): what the card-set job needs; null when the order is gone. Until
-- the set is recorded: the words, the cut-out and the chosen variant (base64 without
-- encode()'s line breaks); after that nothing more (its delivery is enqueued already).
create or replace function public.order_set_input(p_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select to_jsonb(o) || jsonb_build_object('set_done', o.set_at is not null,
    'cutout_b64', case when o.set_at is null then (select translate(encode(i.bytes, 'base64'), E'\n', '')
       from public.order_images i where i.order_id = o.id and i.role = 'cutout' and i.n = 0) end,
    'variant_b64', case when o.set_at is null then (select translate(encode(i.bytes, 'base64'), E'\n', '')
       from public.order_images i where i.order_id = o.id and i.role = 'variant' and i.n = o.choice) end)
  from public.orders o where o.id = p_id
$$;

revoke execute on function public.order_set_input(bigint) from public, anon, authenticated;
grant execute on function public.order_set_input(bigint) to service_role;
