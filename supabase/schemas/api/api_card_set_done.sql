-- api_card_set_done(p_job_id, p_slides, p_ms): records the set once (p_slides:
-- [{role, n, jpeg_b64, width, height}], validated by the job before it calls this).
-- The card's job is then kept 24 h from now (the retention of a finished job), however
-- long the card waited for its choice. Returns {recorded}; null when the card is gone.
-- History: 20261212120000_api_stages.sql, 20261222120000_api_choice_expiry.sql (keep_until).
create or replace function public.api_card_set_done(p_job_id bigint, p_slides jsonb, p_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_done boolean;
begin
  update public.api_cards set set_at = now(), timings = timings || jsonb_build_object('set', p_ms)
   where job_id = p_job_id and set_at is null
  returning true into v_done;
  if v_done then
    insert into public.api_card_images (job_id, role, n, jpeg, width, height)
    select p_job_id, s->>'role', (s->>'n')::smallint, decode(s->>'jpeg_b64', 'base64'), (s->>'width')::int, (s->>'height')::int
      from jsonb_array_elements(p_slides) s
    on conflict do nothing;
    update public.jobs set keep_until = now() + interval '24 hours' where id = p_job_id;
  elsif not exists (select 1 from public.api_cards where job_id = p_job_id) then
    return null;
  end if;
  return jsonb_build_object('recorded', coalesce(v_done, false));
end
$$;

revoke execute on function public.api_card_set_done(bigint, jsonb, integer) from public, anon, authenticated;
grant execute on function public.api_card_set_done(bigint, jsonb, integer) to service_role;
