-- ai_call_claim(call, order, holder, lease): before a paid call. Returns
--   {state: 'done', image_b64, cost_usd}  recorded already: use it, do not call
--   {state: 'failed', outcome}            answered without a usable image: do not call again
--   {state: 'busy', retry_in_ms}          another attempt holds the claim and may be calling
--   {state: 'claimed', claims}            this holder may call; `claims` > 1 = a takeover
-- A claim whose lease ran out (its holder died or hung) is taken over.
create or replace function public.ai_call_claim(p_call_key text, p_order_key text, p_holder text, p_lease_seconds integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare
  r public.ai_calls;
begin
  insert into public.ai_calls (call_key, order_key, holder, lease_until)
  values (p_call_key, p_order_key, p_holder, now() + make_interval(secs => p_lease_seconds))
  on conflict (call_key) do nothing;
  if found then
    return jsonb_build_object('state', 'claimed', 'claims', 1);
  end if;
  -- The row exists. Locking: FOR UPDATE makes racing claimers decide one at a time (a
  -- concurrent insert of the same key already waited on the row above), so of several
  -- attempts that find the lease expired exactly one takes the claim; the others see it
  -- held with a fresh lease and wait.
  select * into r from public.ai_calls where call_key = p_call_key for update;
  if r.state = 'done' then
    return jsonb_build_object('state', 'done', 'image_b64', translate(encode(r.result, 'base64'), E'\n', ''), 'cost_usd', r.cost_usd);
  elsif r.state = 'failed' then
    return jsonb_build_object('state', 'failed', 'outcome', r.outcome);
  elsif r.holder is distinct from p_holder and r.lease_until > now() then
    return jsonb_build_object('state', 'busy',
      'retry_in_ms', ceil(extract(epoch from r.lease_until - now()) * 1000));
  end if;
  update public.ai_calls
     set holder = p_holder, lease_until = now() + make_interval(secs => p_lease_seconds),
         claims = claims + case when r.holder is not distinct from p_holder then 0 else 1 end
   where call_key = p_call_key
  returning * into r;
  return jsonb_build_object('state', 'claimed', 'claims', r.claims);
end
$$;

revoke execute on function public.ai_call_claim(text, text, text, integer) from public, anon, authenticated;
grant execute on function public.ai_call_claim(text, text, text, integer) to service_role;
