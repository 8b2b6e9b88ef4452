-- api_card_cutout_done(p_job_id, p_cutout_b64, p_framed_reason, p_ms): records the cut-out
-- stage once (the product as PNG, or the photo to frame and why) and drops the input
-- photo. A second call (a retried job) changes nothing. {recorded} says which happened;
-- null when the card is gone.
create or replace function public.api_card_cutout_done(p_job_id bigint, p_cutout_b64 text, p_framed_reason text, p_ms integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_done boolean;
begin
  update public.api_cards set cutout = decode(p_cutout_b64, 'base64'), framed_reason = p_framed_reason,
         cutout_at = now(), photo = null, timings = timings || jsonb_build_object('cutout', p_ms)
   where job_id = p_job_id and cutout_at is null
  returning true into v_done;
  if v_done then return jsonb_build_object('recorded', true); end if;
  if not exists (select 1 from public.api_cards where job_id = p_job_id) then return null; end if;
  return jsonb_build_object('recorded', false);
end
$$;

revoke execute on function public.api_card_cutout_done(bigint, text, text, integer) from public, anon, authenticated;
grant execute on function public.api_card_cutout_done(bigint, text, text, integer) to service_role;
