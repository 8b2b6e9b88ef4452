// A fresh database per test file on the local Postgres, migrated with the real runner.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { migrate } from '../../src/db/migrate.ts';

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDb {
  url: string;
  name: string;
  sql: postgres.Sql;
  drop(): Promise<void>;
}

export function urlFor(name: string) {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createTestDb(o: { migrate?: boolean; prefix?: string } = {}): Promise<TestDb> {
  const name = `${o.prefix ?? 'nc_test'}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = urlFor(name);
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  if (o.migrate !== false) await migrate(sql);
  return {
    url, name, sql,
    async drop() {
      await sql.end({ timeout: 1 });
      const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}
