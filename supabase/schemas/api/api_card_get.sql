-- api_card_get(p_key_id, p_job_id): the card as its key sees it; null for anyone else's.
create or replace function public.api_card_get(p_key_id bigint, p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('id', j.id, 'status', j.status, 'created_at', j.created_at, 'started_at', j.started_at,
    'completed_at', j.finished_at, 'attempts', j.attempts, 'error', j.last_error, 'template', c.template,
    'has_result', c.result_path is not null or c.storage = 'db')
  from public.api_cards c join public.jobs j on j.id = c.job_id
  where c.job_id = p_job_id and c.key_id = p_key_id
$$;

revoke execute on function public.api_card_get(bigint, bigint) from public, anon, authenticated;
grant execute on function public.api_card_get(bigint, bigint) to service_role;
