// Applies supabase/migrations/*.sql in order, each in its own transaction, and records
// them in the Supabase CLI's own history table, so `supabase db push` and
// `neurocards migrate` agree about what has run.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type postgres from 'postgres';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../supabase/migrations/', import.meta.url));
const LOCK_KEY = 727_274_001; // arbitrary, constant: serialises concurrent migrators

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const [, version, name] = /^(\d+)_(.+)\.sql$/.exec(f)!;
      return { version, name, sql: readFileSync(join(dir, f), 'utf8') };
    });
}

export const latestVersion = (dir = MIGRATIONS_DIR) => listMigrations(dir).at(-1)?.version ?? null;

export class SchemaBehindError extends Error {
  constructor(readonly current: string | null, readonly wanted: string) {
    super(
      `The database schema is ${current ? `at ${current}` : 'empty'} but this code needs ${wanted}. ` +
        `Run \`npx neurocards migrate\` (with DATABASE_URL set) and start again.`,
    );
    this.name = 'SchemaBehindError';
  }
}

/** Throws SchemaBehindError when the database lacks migrations this code ships. */
export function assertSchemaCurrent(current: string | null, wanted = latestVersion()) {
  if (wanted && (current === null || current < wanted)) throw new SchemaBehindError(current, wanted);
}

export async function migrate(sql: postgres.Sql, log: (msg: string) => void = () => {}, dir = MIGRATIONS_DIR): Promise<string[]> {
  const all = listMigrations(dir);
  const conn = await sql.reserve();
  const applied: string[] = [];
  try {
    // A second instance running migrate at the same time waits here, then finds nothing to do.
    await conn`select pg_advisory_lock(${LOCK_KEY})`;
    await conn.unsafe(`
      create schema if not exists supabase_migrations;
      create table if not exists supabase_migrations.schema_migrations (
        version text not null primary key, statements text[], name text);`);
    const done = new Set((await conn`select version from supabase_migrations.schema_migrations`).map((r) => r.version as string));
    for (const m of all) {
      if (done.has(m.version)) continue;
      await conn.unsafe('begin');
      try {
        await conn.unsafe(m.sql);
        await conn`insert into supabase_migrations.schema_migrations (version, statements, name)
                   values (${m.version}, ${[m.sql]}, ${m.name})`;
        await conn.unsafe('commit');
      } catch (err) {
        await conn.unsafe('rollback');
        throw new Error(`migration ${m.version}_${m.name}.sql failed: ${(err as Error).message}`);
      }
      applied.push(`${m.version}_${m.name}`);
      log(`applied ${m.version}_${m.name}.sql`);
    }
  } finally {
    await conn`select pg_advisory_unlock(${LOCK_KEY})`.catch(() => {});
    conn.release();
  }
  return applied;
}
