-- api_card_input(p_job_id): what the worker renders; null when the card is gone. The photo's
-- base64 without encode()'s line breaks (every 76 characters: 1.3% more on the wire, as
-- JSON escapes). History: 20261125300000_api.sql, 20261210120000_api_bytes_once.sql.
create or replace function public.api_card_input(p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('title', c.title, 'features', c.features, 'price', c.price, 'template', c.template,
    'photo_b64', translate(encode(c.photo, 'base64'), E'\n', ''), 'stored', c.storage is not null)
  from public.api_cards c where c.job_id = p_job_id
$$;

revoke execute on function public.api_card_input(bigint) from public, anon, authenticated;
grant execute on function public.api_card_input(bigint) to service_role;
