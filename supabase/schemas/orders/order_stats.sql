-- order_stats(): today's (UTC) order figures for the admin /stats.
create or replace function public.order_stats()
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'today', count(*),
    'sent', count(*) filter (where status = 'sent'),
    'open', count(*) filter (where status in ('queued', 'rendering', 'awaiting_choice', 'rendered')),
    'failed', count(*) filter (where status = 'failed'),
    'undeliverable', count(*) filter (where status = 'undeliverable'),
    'canceled', count(*) filter (where status = 'canceled'),
    'users', count(distinct user_id),
    'render_ms_avg', round(avg(render_ms)),
    'delivered_p50_s', round((percentile_cont(0.5) within group (order by extract(epoch from delivered_at - created_at)))::numeric, 1),
    'delivered_p95_s', round((percentile_cont(0.95) within group (order by extract(epoch from delivered_at - created_at)))::numeric, 1))
  from public.orders
  where created_at >= (now() at time zone 'utc')::date
$$;

revoke execute on function public.order_stats() from public, anon, authenticated;
grant execute on function public.order_stats() to service_role;
