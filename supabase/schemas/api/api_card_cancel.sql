-- api_card_cancel(p_key_id, p_job_id): DELETE /api/cards/:id. A card that is queued,
-- running (cut-out, variants or set) or awaiting a choice is canceled: no later stage is
-- enqueued (api_card_set_enqueue, api_card_choose check canceled_at) and its jobs are
-- canceled through cancel_job(), so a running one is aborted by its worker at the next
-- heartbeat and never retried. Returns {result: 'canceled'|'not_open', status}; null for
-- anyone else's card. Canceling twice answers 'canceled' again (idempotent).
create or replace function public.api_card_cancel(p_key_id bigint, p_job_id bigint)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_card   public.api_cards;
  v_status text;
begin
  select * into v_card from public.api_cards where job_id = p_job_id and key_id = p_key_id for update;
  if not found then return null; end if;
  if v_card.canceled_at is not null then
    return jsonb_build_object('result', 'canceled', 'status', 'canceled');
  end if;
  v_status := (public.api_card_get(p_key_id, p_job_id))->>'status';
  if v_status not in ('queued', 'running', 'awaiting_choice') then
    return jsonb_build_object('result', 'not_open', 'status', v_status);
  end if;
  update public.api_cards set canceled_at = now() where job_id = p_job_id;
  perform public.cancel_job(p_job_id);
  if v_card.set_job_id is not null then perform public.cancel_job(v_card.set_job_id); end if;
  return jsonb_build_object('result', 'canceled', 'status', 'canceled');
end
$$;

revoke execute on function public.api_card_cancel(bigint, bigint) from public, anon, authenticated;
grant execute on function public.api_card_cancel(bigint, bigint) to service_role;
