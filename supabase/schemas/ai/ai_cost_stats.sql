-- ai_cost_stats(api_key): what the AI provider reported it charged: the total, the number
-- of orders that made paid calls and the average per such order, the paid calls and the
-- calls (variants) they served. With an API key id: that key's cards only (order key
-- 'api:<job id>'); without: everything.
create or replace function public.ai_cost_stats(p_api_key_id bigint default null)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'total_usd', coalesce(sum(c.cost_usd), 0),
    'orders', count(distinct c.order_key) filter (where c.paid_calls > 0),
    'avg_per_order_usd', round(coalesce(sum(c.cost_usd), 0)
      / nullif(count(distinct c.order_key) filter (where c.paid_calls > 0), 0), 6),
    'paid_calls', coalesce(sum(c.paid_calls), 0),
    'calls', count(*) filter (where c.paid_calls > 0))
  from public.ai_calls c
  where p_api_key_id is null
     or c.order_key in (select 'api:' || a.job_id from public.api_cards a where a.key_id = p_api_key_id)
$$;

revoke execute on function public.ai_cost_stats(bigint) from public, anon, authenticated;
grant execute on function public.ai_cost_stats(bigint) to service_role;
