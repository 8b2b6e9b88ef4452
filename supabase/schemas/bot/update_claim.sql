-- update_claim(update_id): true the first time an update_id is seen, false afterwards.
-- The primary key decides between concurrent claimers (a second insert of the same id
-- waits for the first transaction, then does nothing).
create or replace function public.update_claim(p_update_id bigint)
returns boolean
language plpgsql volatile security definer set search_path = ''
as $$
begin
  insert into public.processed_updates (update_id) values (p_update_id) on conflict do nothing;
  return found;
end
$$;

revoke execute on function public.update_claim(bigint) from public, anon, authenticated;
grant execute on function public.update_claim(bigint) to service_role;
