-- order_confirm(p): create an order and its render job in one transaction.
-- p = {key, user_id, chat_id, lang, photo_file_id, photo_unique_id, title, features,
--      price, template, marketplace, max_open, daily_quota}.
-- History: 20261125100100_fn_orders.sql, 20261220120000_bot_generation.sql (marketplace).
-- Returns {result: created|exists|limit_open|limit_daily|missing, order?, open, used, queue?}.
create or replace function public.order_confirm(p jsonb)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_user  bigint := (p->>'user_id')::bigint;
  v_key   text := p->>'key';
  v_day   date := (now() at time zone 'utc')::date;
  v_used  integer;
  v_open  integer;
  v_order public.orders;
  v_job   bigint;
begin
  if v_user is null or v_key is null then
    raise exception 'order_confirm needs user_id and key' using errcode = '22023';
  end if;
  -- Lock this user's quota row for the rest of the transaction. Concurrent confirms of
  -- one user (a double tap answered by two instances) queue up here, so the key lookup,
  -- the limit checks and the insert below see each other's committed rows.
  insert into public.order_quota as q (user_id, day, used) values (v_user, v_day, 0)
  on conflict (user_id, day) do update set used = q.used
  returning q.used into v_used;

  select * into v_order from public.orders where idempotency_key = v_key;
  if found then
    return jsonb_build_object('result', 'exists', 'order', to_jsonb(v_order),
                              'queue', public.order_position(v_order.id));
  end if;
  if p->>'photo_file_id' is null or p->>'title' is null then
    return jsonb_build_object('result', 'missing');
  end if;

  select count(*) into v_open from public.orders
   where user_id = v_user and status in ('queued', 'rendering', 'awaiting_choice', 'rendered');
  if v_open >= coalesce((p->>'max_open')::integer, 5) then
    return jsonb_build_object('result', 'limit_open', 'open', v_open, 'used', v_used);
  end if;
  if v_used >= coalesce((p->>'daily_quota')::integer, 50) then
    return jsonb_build_object('result', 'limit_daily', 'open', v_open, 'used', v_used);
  end if;

  insert into public.orders (idempotency_key, user_id, chat_id, lang, photo_file_id, photo_unique_id,
                             title, features, price, template, parent_id, marketplace)
  values (v_key, v_user, (p->>'chat_id')::bigint, coalesce(p->>'lang', 'ru'), p->>'photo_file_id',
          p->>'photo_unique_id', p->>'title', coalesce(p->'features', '[]'::jsonb), nullif(p->>'price', ''),
          p->>'template', (p->>'parent_id')::bigint, coalesce(p->>'marketplace', 'wb'))
  returning * into v_order;

  select j.id into v_job from public.enqueue(jsonb_build_object(
    'kind', 'render-card',
    'payload', jsonb_build_object('orderId', v_order.id),
    'idempotency_key', 'render:' || v_order.id,
    'fair_key', 'user:' || v_user)) j;
  update public.orders set render_job_id = v_job where id = v_order.id returning * into v_order;
  update public.order_quota set used = used + 1 where user_id = v_user and day = v_day;

  return jsonb_build_object('result', 'created', 'order', to_jsonb(v_order),
                            'open', v_open + 1, 'used', v_used + 1,
                            'queue', public.order_position(v_order.id));
end
$$;

revoke execute on function public.order_confirm(jsonb) from public, anon, authenticated;
grant execute on function public.order_confirm(jsonb) to service_role;
