-- API bytes cross the RPC layer as plain base64: encode() breaks lines every 76
-- characters, which JSON carries as escapes (1.3% more). See supabase/schemas/api/.

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

-- api_card_result(p_key_id, p_job_id): where the key's result is (and its bytes when
-- kept in the database, base64 without line breaks); null for anyone else's card.
-- History: 20261125300000_api.sql, 20261210120000_api_bytes_once.sql.
create or replace function public.api_card_result(p_key_id bigint, p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('status', j.status, 'storage', c.storage, 'path', c.result_path,
    'jpeg_b64', (select translate(encode(r.jpeg, 'base64'), E'\n', '') from public.api_results r where r.job_id = c.job_id and j.status = 'succeeded'))
  from public.api_cards c join public.jobs j on j.id = c.job_id
  where c.job_id = p_job_id and c.key_id = p_key_id
$$;

revoke execute on function public.api_card_result(bigint, bigint) from public, anon, authenticated;
grant execute on function public.api_card_result(bigint, bigint) to service_role;
