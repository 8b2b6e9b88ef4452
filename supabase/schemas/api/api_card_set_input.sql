-- api_card_set_input(p_job_id): what the api-card-set job needs; null when the card is gone.
-- Until the set is recorded: the words, the cut-out and the chosen variant; after that
-- (a retry that died before storing the result) only the recorded main picture.
create or replace function public.api_card_set_input(p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('title', c.title, 'features', c.features, 'price', c.price, 'template', c.template,
    'marketplace', c.marketplace, 'choice', c.choice, 'framed_reason', c.framed_reason,
    'set_done', c.set_at is not null, 'stored', c.storage is not null,
    'cutout_b64', case when c.set_at is null then translate(encode(c.cutout, 'base64'), E'\n', '') end,
    'variant_b64', case when c.set_at is null then (select translate(encode(i.jpeg, 'base64'), E'\n', '')
       from public.api_card_images i where i.job_id = c.job_id and i.role = 'variant' and i.n = c.choice) end,
    'main_b64', case when c.set_at is not null and c.storage is null then (select translate(encode(i.jpeg, 'base64'), E'\n', '')
       from public.api_card_images i where i.job_id = c.job_id and i.role = 'main') end)
  from public.api_cards c where c.job_id = p_job_id
$$;

revoke execute on function public.api_card_set_input(bigint) from public, anon, authenticated;
grant execute on function public.api_card_set_input(bigint) to service_role;
