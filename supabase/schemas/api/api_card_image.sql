-- api_card_image(p_key_id, p_job_id, p_role, p_n): one picture of a card (a variant or a
-- slide) as base64, for its owner only; null otherwise.
create or replace function public.api_card_image(p_key_id bigint, p_job_id bigint, p_role text, p_n integer)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object('jpeg_b64', translate(encode(i.jpeg, 'base64'), E'\n', ''), 'width', i.width, 'height', i.height)
  from public.api_cards c join public.api_card_images i on i.job_id = c.job_id
  where c.job_id = p_job_id and c.key_id = p_key_id and i.role = p_role and i.n = p_n
$$;

revoke execute on function public.api_card_image(bigint, bigint, text, integer) from public, anon, authenticated;
grant execute on function public.api_card_image(bigint, bigint, text, integer) to service_role;
