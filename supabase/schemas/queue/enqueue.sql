-- enqueue(p_jobs): insert one or many jobs; returns them in input order.
-- Each element: {kind, payload?, priority?, run_at?, max_attempts?, idempotency_key?, fair_key?}.
-- An idempotency key that already exists returns the existing job, never a second one.
--
-- Fairness is decided here, not at claim: each job of a fair key (a user) gets
-- vtime = max(now, that key's last vtime) + one slot, and claim orders by vtime.
-- A user's 500-card batch therefore spreads over 500 slots, and a later single
-- order from someone else lands between them (weighted fair queuing) while the
-- claim stays a plain index scan.
create or replace function public.enqueue(p_jobs jsonb, p_fair_slot_ms integer default 1000)
returns setof public.jobs
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_now  timestamptz := now();
  v_slot interval := make_interval(secs => greatest(p_fair_slot_ms, 1) / 1000.0);
  v_ids  bigint[];
  v_keys text[];
begin
  if jsonb_typeof(p_jobs) = 'object' then
    p_jobs := jsonb_build_array(p_jobs);
  end if;
  if jsonb_typeof(p_jobs) is distinct from 'array' then
    raise exception 'enqueue expects a JSON array of jobs' using errcode = '22023';
  end if;

  with input as (
    select j.*,
           row_number() over (partition by j.fair_key order by j.ord) as fair_rank,
           count(*)     over (partition by j.fair_key)                as fair_count
    from rows from (jsonb_to_recordset(p_jobs) as (
           kind text, payload jsonb, priority smallint, run_at timestamptz,
           max_attempts integer, idempotency_key text, fair_key text))
         with ordinality as j(kind, payload, priority, run_at, max_attempts, idempotency_key, fair_key, ord)
    -- a key seen before is not new work and must not advance the user's clock
    where j.idempotency_key is null
       or not exists (select 1 from public.jobs x where x.idempotency_key = j.idempotency_key)
  ),
  clock as (
    insert into public.fair_clock as c (fair_key, vtime)
    select fair_key, v_now + v_slot * max(fair_count) from input
    where fair_key is not null group by fair_key
    on conflict (fair_key) do update
      set vtime = greatest(c.vtime, v_now) + (excluded.vtime - v_now)
    returning c.fair_key, c.vtime
  ),
  ins as (
    insert into public.jobs (kind, payload, priority, run_at, vtime, fair_key, max_attempts, idempotency_key)
    select i.kind,
           coalesce(i.payload, '{}'::jsonb),
           coalesce(i.priority, 0),
           coalesce(i.run_at, v_now),
           case when i.fair_key is null then v_now
                else k.vtime - v_slot * (i.fair_count - i.fair_rank) end,
           i.fair_key,
           coalesce(i.max_attempts, 5),
           i.idempotency_key
    from input i left join clock k on k.fair_key = i.fair_key
    order by i.ord
    on conflict (idempotency_key) where idempotency_key is not null do nothing
    returning id
  )
  select array_agg(id) into v_ids from ins;

  select array_agg(e->>'idempotency_key') into v_keys
  from jsonb_array_elements(p_jobs) e where e ? 'idempotency_key';

  if v_ids is not null then
    perform pg_notify('neurocards_jobs', '');
  end if;

  -- A new statement, so a new snapshot: it also sees a concurrent enqueue of the
  -- same key that committed while our insert waited on it.
  return query
    select * from public.jobs j
    where j.id = any(coalesce(v_ids, '{}')) or j.idempotency_key = any(coalesce(v_keys, '{}'))
    order by j.id;
end
$$;

revoke execute on function public.enqueue(jsonb, integer) from public, anon, authenticated;
grant execute on function public.enqueue(jsonb, integer) to service_role;
