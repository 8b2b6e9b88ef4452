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
