-- The migration history: the Supabase CLI's own table, which `npx neurocards migrate`
-- (src/db/migrate.ts) creates with exactly this statement and writes to, so both tools
-- agree about what has run. It belongs to the migration runner, not to the app; it is
-- declared here only because schema_version() (queue/schema_version.sql, a SQL function,
-- checked when created) reads it. On a database the runner or the CLI set up, this is a
-- no-op. A database built from supabase/schemas alone has it empty: schema_version() is
-- null there, and the app refuses to start on it until migrations are recorded.
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text not null primary key, statements text[], name text);
