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
