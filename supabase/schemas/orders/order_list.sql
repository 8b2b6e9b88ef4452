-- order_list(user, which, limit): 'open' orders (with queue positions) or 'history'
-- (delivered cards, newest first).
create or replace function public.order_list(p_user bigint, p_which text, p_limit integer default 10)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(x.j order by x.id desc), '[]'::jsonb) from (
    select o.id,
           case when p_which = 'open' then to_jsonb(o) || jsonb_build_object('queue', public.order_position(o.id))
                else to_jsonb(o) end as j
    from public.orders o
    where o.user_id = p_user
      and ((p_which = 'open' and o.status in ('queued', 'rendering', 'awaiting_choice', 'rendered'))
        or (p_which = 'history' and o.status = 'sent'))
    order by o.id desc
    limit greatest(p_limit, 0)
  ) x
$$;

revoke execute on function public.order_list(bigint, text, integer) from public, anon, authenticated;
grant execute on function public.order_list(bigint, text, integer) to service_role;
