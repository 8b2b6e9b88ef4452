-- Cancel (20261221000000_job_cancel.sql) and choice expiry (20261222120000_api_choice_expiry.sql)
-- were written side by side; the expiry migration restated api_card_choose and api_card_get
-- without the cancel rules. This restates both functions with both rules.

-- api_card_choose(p_key_id, p_job_id, p_variant): the seller's pick. The same pick again
-- is a no-op (idempotent); a different one after the first is refused ('conflict').
-- Once the variants exist the set is enqueued (once: see api_card_set_enqueue).
-- A canceled card takes no pick ('canceled'); a card whose variants waited 7 days without a
-- pick has expired ('expired', nothing changes).
-- Returns {result: 'ok'|'conflict'|'canceled'|'expired', choice, set_job}; null for anyone
-- else's card. History: 20261212120000_api_stages.sql, 20261221000000_job_cancel.sql,
-- 20261222120000_api_choice_expiry.sql, 20261224000000_api_cancel_and_expiry.sql (both rules).
create or replace function public.api_card_choose(p_key_id bigint, p_job_id bigint, p_variant integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_choice smallint; v_canceled timestamptz; v_variants_at timestamptz;
begin
  select choice, canceled_at, variants_at into v_choice, v_canceled, v_variants_at
    from public.api_cards where job_id = p_job_id and key_id = p_key_id for update;
  if not found then return null; end if;
  if v_canceled is not null then
    return jsonb_build_object('result', 'canceled', 'choice', v_choice, 'set_job', null);
  end if;
  if v_choice is null and v_variants_at < now() - interval '7 days' then
    return jsonb_build_object('result', 'expired', 'choice', null, 'set_job', null);
  end if;
  if v_choice is not null and v_choice <> p_variant then
    return jsonb_build_object('result', 'conflict', 'choice', v_choice, 'set_job', null);
  end if;
  if v_choice is null then
    update public.api_cards set choice = p_variant where job_id = p_job_id;
  end if;
  return jsonb_build_object('result', 'ok', 'choice', p_variant, 'set_job', public.api_card_set_enqueue(p_job_id));
end
$$;

revoke execute on function public.api_card_choose(bigint, bigint, integer) from public, anon, authenticated;
grant execute on function public.api_card_choose(bigint, bigint, integer) to service_role;

-- api_card_get(p_key_id, p_job_id): the card as its key sees it; null for anyone else's.
-- Its status follows its stages: the api-card job (cut-out, variants), then
-- 'awaiting_choice' while the variants wait for a pick (until choice_expires_at, 7 days
-- after the variants; then 'expired'), then the set's job; times and attempts are those
-- of the job the card is in now. History: 20261125300000_api.sql,
-- 20261212120000_api_stages.sql (stages, variants, slides), 20261221000000_job_cancel.sql
-- (canceled cards), 20261221000100_job_eta.sql (eta: job_eta() of the job the card is in
-- while it is queued or running: position, measured p50 of that stage, estimate),
-- 20261222120000_api_choice_expiry.sql, 20261224000000_api_cancel_and_expiry.sql (both).
create or replace function public.api_card_get(p_key_id bigint, p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('id', j.id,
    'status', case when c.canceled_at is not null and c.set_at is null then 'canceled'
                   when c.set_at is not null and s.id is null then 'succeeded'
                   when s.id is not null then s.status::text
                   when j.status = 'succeeded' and c.variants_at is not null and c.choice is null
                     then case when c.variants_at < now() - interval '7 days' then 'expired' else 'awaiting_choice' end
                   else j.status::text end,
    'created_at', j.created_at, 'started_at', j.started_at,
    'completed_at', case when c.set_job_id is not null then s.finished_at
                         when c.variants_at is not null and c.choice is null then null else j.finished_at end,
    'attempts', coalesce(s.attempts, j.attempts), 'error', coalesce(s.last_error, j.last_error), 'template', c.template,
    'has_result', c.result_path is not null or c.storage = 'db',
    'eta', case when c.canceled_at is null and coalesce(s.status, j.status) in ('queued', 'running')
                then public.job_eta(coalesce(s.id, j.id)) end,
    'choice_expires_at', case when c.variants_at is not null and c.choice is null then c.variants_at + interval '7 days' end,
    'marketplace', c.marketplace, 'choice', c.choice, 'framed_reason', c.framed_reason, 'timings', c.timings,
    'variants', coalesce((select jsonb_agg(jsonb_build_object('n', i.n, 'width', i.width, 'height', i.height) order by i.n)
       from public.api_card_images i where i.job_id = c.job_id and i.role = 'variant'), '[]'::jsonb),
    'slides', case when c.set_at is null then '[]'::jsonb else coalesce((select jsonb_agg(jsonb_build_object('role', i.role, 'n', i.n, 'width', i.width, 'height', i.height) order by i.n)
       from public.api_card_images i where i.job_id = c.job_id and i.role <> 'variant'), '[]'::jsonb) end)
  from public.api_cards c join public.jobs j on j.id = c.job_id
  left join public.jobs s on s.id = c.set_job_id
  where c.job_id = p_job_id and c.key_id = p_key_id
$$;

revoke execute on function public.api_card_get(bigint, bigint) from public, anon, authenticated;
grant execute on function public.api_card_get(bigint, bigint) to service_role;
