-- Roles the grants name. Supabase has them already; plain Postgres (tests, embedded)
-- does not. They carry no login and no privileges beyond what the grants give.
-- Roles belong to the cluster, not to one database, hence "if not exists".
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit;
  end if;
end
$$;
