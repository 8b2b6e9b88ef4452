-- api_card_variants_done(p_job_id, p_variants, p_ms): records the 3 variants once
-- (p_variants: [{n, jpeg_b64, width, height}]) and, when the seller picked in advance,
-- enqueues the set in the same transaction. A retried job's second call changes nothing.
-- Without a pick the card waits for one: its job (whose deletion takes the card with it)
-- is kept 14 days, 7 to choose and 7 more showing 'expired' (api_card_get).
-- Returns {recorded, set_job}; null when the card is gone. History:
-- 20261212120000_api_stages.sql, 20261222120000_api_choice_expiry.sql (keep_until).
create or replace function public.api_card_variants_done(p_job_id bigint, p_variants jsonb, p_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_done boolean;
begin
  update public.api_cards set variants_at = now(), timings = timings || jsonb_build_object('variants', p_ms)
   where job_id = p_job_id and variants_at is null
  returning true into v_done;
  if v_done then
    insert into public.api_card_images (job_id, role, n, jpeg, width, height)
    select p_job_id, 'variant', (v->>'n')::smallint, decode(v->>'jpeg_b64', 'base64'), (v->>'width')::int, (v->>'height')::int
      from jsonb_array_elements(p_variants) v
    on conflict do nothing;
    update public.jobs j set keep_until = now() + interval '14 days'
      from public.api_cards c where c.job_id = p_job_id and j.id = p_job_id and c.choice is null;
  elsif not exists (select 1 from public.api_cards where job_id = p_job_id) then
    return null;
  end if;
  return jsonb_build_object('recorded', coalesce(v_done, false), 'set_job', public.api_card_set_enqueue(p_job_id));
end
$$;

revoke execute on function public.api_card_variants_done(bigint, jsonb, integer) from public, anon, authenticated;
grant execute on function public.api_card_variants_done(bigint, jsonb, integer) to service_role;
