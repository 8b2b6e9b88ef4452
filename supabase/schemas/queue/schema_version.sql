-- schema_version(): the newest migration applied, so an instance in RPC mode (no direct
-- connection) can refuse to start against a database that is behind its code.
-- Reads the Supabase CLI's own history table, which `neurocards migrate` also writes,
-- so migrations applied by either tool count.
create or replace function public.schema_version()
returns text
language sql stable security definer set search_path = ''
as $$ select max(version) from supabase_migrations.schema_migrations $$;

revoke execute on function public.schema_version() from public, anon, authenticated;
grant execute on function public.schema_version() to service_role;
