-- ai_call_release(call, holder): give a claim back without an answer (nothing was paid:
-- the limiter had no call left, the provider said 429 or 5xx, or the request never left),
-- so a later attempt may call. Only the holder's own open claim is released.
create or replace function public.ai_call_release(p_call_key text, p_holder text)
returns void
language sql volatile security definer set search_path = ''
as $$
  update public.ai_calls set holder = null, lease_until = null
   where call_key = p_call_key and holder = p_holder and state = 'claimed'
$$;

revoke execute on function public.ai_call_release(text, text) from public, anon, authenticated;
grant execute on function public.ai_call_release(text, text) to service_role;
