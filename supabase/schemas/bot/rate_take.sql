-- rate_take(key, cost): take `cost` calls from every window of `key` (all or none).
-- Returns {ok: true} or {ok: false, retry_in_ms} = until the fullest window rolls over.
-- The limit rows are locked in a fixed order, so concurrent takers across instances
-- serialise here and no window is ever overdrawn.
create or replace function public.rate_take(p_key text, p_cost integer default 1)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  l       record;
  v_start timestamptz;
  v_calls integer;
  v_wait  double precision := 0;
begin
  perform 1 from public.rate_limits where key = p_key order by window_seconds for update;
  for l in select * from public.rate_limits where key = p_key order by window_seconds loop
    v_start := to_timestamp(floor(extract(epoch from now()) / l.window_seconds) * l.window_seconds);
    select u.calls into v_calls from public.rate_usage u
     where u.key = p_key and u.window_seconds = l.window_seconds and u.window_start = v_start;
    if coalesce(v_calls, 0) + p_cost > l.max_calls then
      v_wait := greatest(v_wait, extract(epoch from (v_start + make_interval(secs => l.window_seconds) - now())) * 1000);
    end if;
  end loop;
  if v_wait > 0 then
    return jsonb_build_object('ok', false, 'retry_in_ms', ceil(v_wait));
  end if;
  insert into public.rate_usage as u (key, window_seconds, window_start, calls)
  select p_key, r.window_seconds,
         to_timestamp(floor(extract(epoch from now()) / r.window_seconds) * r.window_seconds), p_cost
    from public.rate_limits r where r.key = p_key
  on conflict (key, window_seconds, window_start) do update set calls = u.calls + excluded.calls;
  return jsonb_build_object('ok', true);
end
$$;

revoke execute on function public.rate_take(text, integer) from public, anon, authenticated;
grant execute on function public.rate_take(text, integer) to service_role;
