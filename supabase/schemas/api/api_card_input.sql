-- api_card_input(p_job_id): what the api-card job (cut-out, then variants) needs; null
-- when the card is gone. Bytes only for the stage still to run: the photo until the
-- cut-out is recorded, then the cut-out until the variants are (base64 without
-- encode()'s line breaks). History: 20261125300000_api.sql,
-- 20261210120000_api_bytes_once.sql, 20261212120000_api_stages.sql (stages).
create or replace function public.api_card_input(p_job_id bigint)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('title', c.title, 'features', c.features, 'price', c.price, 'template', c.template,
    'marketplace', c.marketplace, 'choice', c.choice, 'framed_reason', c.framed_reason,
    'cut', c.cutout_at is not null, 'variants_done', c.variants_at is not null,
    'photo_b64', case when c.cutout_at is null then translate(encode(c.photo, 'base64'), E'\n', '') end,
    'cutout_b64', case when c.cutout_at is not null and c.variants_at is null then translate(encode(c.cutout, 'base64'), E'\n', '') end,
    'stored', c.storage is not null)
  from public.api_cards c where c.job_id = p_job_id
$$;

revoke execute on function public.api_card_input(bigint) from public, anon, authenticated;
grant execute on function public.api_card_input(bigint) to service_role;
