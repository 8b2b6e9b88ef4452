-- order_stage_images(id, stage): the pictures a delivery sends, in order: 'variants' (n 1-3) or
-- 'set' (main, infographic, detail by place). [{role, n, b64, width, height}].
create or replace function public.order_stage_images(p_id bigint, p_stage text)
returns jsonb
language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('role', i.role, 'n', i.n, 'width', i.width, 'height', i.height,
           'b64', translate(encode(i.bytes, 'base64'), E'\n', '')) order by i.n), '[]'::jsonb)
    from public.order_images i
   where i.order_id = p_id
     and case when p_stage = 'variants' then i.role = 'variant' else i.role in ('main', 'infographic', 'detail') end
$$;

revoke execute on function public.order_stage_images(bigint, text) from public, anon, authenticated;
grant execute on function public.order_stage_images(bigint, text) to service_role;
