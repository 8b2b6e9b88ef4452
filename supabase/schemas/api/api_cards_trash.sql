-- api_cards_trash(): trigger function. When an API card row goes (its job was pruned and
-- the cascade took the card), a result kept in Supabase Storage is queued in api_trash;
-- api_prune() hands those paths to the app, which deletes the objects from the bucket.
create or replace function public.api_cards_trash()
returns trigger
language plpgsql volatile security definer set search_path = ''
as $$
begin
  if old.storage = 'supabase' and old.result_path is not null then
    insert into public.api_trash (path) values (old.result_path) on conflict do nothing;
  end if;
  return old;
end
$$;
create trigger api_cards_trash after delete on public.api_cards
  for each row execute function public.api_cards_trash();

revoke execute on function public.api_cards_trash() from public, anon, authenticated;
grant execute on function public.api_cards_trash() to service_role;
