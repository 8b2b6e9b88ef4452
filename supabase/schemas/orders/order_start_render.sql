-- order_start_render(id): queued → rendering. Returns the order plus has_card (a card
-- stored by an earlier attempt that died before finishing: no need to render again).
create or replace function public.order_start_render(p_id bigint)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v public.orders;
begin
  update public.orders
     set status = 'rendering', render_started_at = coalesce(render_started_at, now()), updated_at = now()
   where id = p_id and status in ('queued', 'rendering')
  returning * into v;
  if not found then
    select * into v from public.orders where id = p_id;
    if not found then return null; end if;
  end if;
  return to_jsonb(v) || jsonb_build_object('has_card', exists (select 1 from public.order_cards c where c.order_id = p_id));
end
$$;

revoke execute on function public.order_start_render(bigint) from public, anon, authenticated;
grant execute on function public.order_start_render(bigint) to service_role;
