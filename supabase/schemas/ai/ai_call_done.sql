-- ai_call_done(call, holder, image, p): record a provider's answer, before the caller
-- uses it. `p` = {outcome, cost_usd, key_id, model}; `image` null = answered without a
-- usable image (no image, refusal, timeout after sending), which is final for this call.
-- A second answer for the same call (a takeover raced a holder that was still alive) is
-- counted and its cost added, and the first image stays the result (a failed record is
-- upgraded by a later image). Returns {state, first} (first = this answer is the result).
create or replace function public.ai_call_done(p_call_key text, p_holder text, p_image_b64 text, p jsonb)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  r      public.ai_calls;
  v_cost numeric := coalesce((p ->> 'cost_usd')::numeric, 0);
begin
  insert into public.ai_calls (call_key, order_key, holder)
  values (p_call_key, coalesce(p ->> 'order_key', p_call_key), p_holder)
  on conflict (call_key) do nothing;
  select * into r from public.ai_calls where call_key = p_call_key for update;
  if r.state = 'done' or (r.state = 'failed' and p_image_b64 is null) then
    update public.ai_calls set paid_calls = paid_calls + 1, cost_usd = cost_usd + v_cost where call_key = p_call_key;
    return jsonb_build_object('state', r.state, 'first', false);
  end if;
  update public.ai_calls
     set state = case when p_image_b64 is null then 'failed' else 'done' end,
         result = decode(p_image_b64, 'base64'), outcome = p ->> 'outcome',
         cost_usd = cost_usd + v_cost, paid_calls = paid_calls + 1,
         key_id = p ->> 'key_id', model = p ->> 'model',
         holder = null, lease_until = null, recorded_at = now()
   where call_key = p_call_key
  returning * into r;
  return jsonb_build_object('state', r.state, 'first', true);
end
$$;

revoke execute on function public.ai_call_done(text, text, text, jsonb) from public, anon, authenticated;
grant execute on function public.ai_call_done(text, text, text, jsonb) to service_role;
