-- api_card_store(...): records the rendered result (bytes here, or a Storage path),
-- drops the input photo and counts the render. Null when the card is gone.
create or replace function public.api_card_store(p_job_id bigint, p_storage text, p_path text, p_jpeg_b64 text,
  p_width integer, p_height integer, p_bytes integer)
returns jsonb
language plpgsql volatile security definer set search_path = ''
as $$
declare v_renders integer;
begin
  update public.api_cards set storage = p_storage, result_path = p_path, width = p_width, height = p_height,
         result_bytes = p_bytes, photo = null, renders = renders + 1, rendered_at = now()
   where job_id = p_job_id
  returning renders into v_renders;
  if v_renders is null then return null; end if;
  if p_storage = 'db' then
    insert into public.api_results (job_id, jpeg) values (p_job_id, decode(p_jpeg_b64, 'base64'))
    on conflict (job_id) do update set jpeg = excluded.jpeg;
  end if;
  return jsonb_build_object('renders', v_renders);
end
$$;

revoke execute on function public.api_card_store(bigint, text, text, text, integer, integer, integer) from public, anon, authenticated;
grant execute on function public.api_card_store(bigint, text, text, text, integer, integer, integer) to service_role;
