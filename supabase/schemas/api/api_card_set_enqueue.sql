-- api_card_set_enqueue(p_job_id): the set's job (kind 'api-card-set') once a card has both
-- its variants and a choice; its idempotency key makes it one job whoever calls first
-- (the variants stage or the choice endpoint). Null while either is missing, and for a
-- canceled card.
create or replace function public.api_card_set_enqueue(p_job_id bigint)
returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_card public.api_cards;
  v_job  public.jobs;
begin
  select * into v_card from public.api_cards where job_id = p_job_id for update;
  if not found or v_card.variants_at is null or v_card.choice is null or v_card.canceled_at is not null then return null; end if;
  if v_card.set_job_id is not null then return v_card.set_job_id; end if;
  select * into v_job from public.enqueue(jsonb_build_object(
    'kind', 'api-card-set', 'payload', jsonb_build_object('card', p_job_id),
    'idempotency_key', 'api-set:' || p_job_id, 'fair_key', 'api:' || v_card.key_id));
  update public.api_cards set set_job_id = v_job.id where job_id = p_job_id;
  return v_job.id;
end
$$;

revoke execute on function public.api_card_set_enqueue(bigint) from public, anon, authenticated;
grant execute on function public.api_card_set_enqueue(bigint) to service_role;
