// Migrations (ordered, recorded, concurrent-safe, idempotent; start refuses a stale
// schema) and the Supabase security rules, checked on the real catalog.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { listMigrations, migrate, SchemaBehindError } from '../src/db/migrate.ts';
import { loadConfig } from '../src/config.ts';
import { openStore } from '../src/db/open.ts';
import { createLogger } from '../src/log.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { spawnCli } from './support/procs.ts';

const log = createLogger({ level: 'silent' });

describe('migrations', () => {
  let db: TestDb;
  before(async () => { db = await createTestDb({ migrate: false }); });
  after(async () => { await db.drop(); });

  test('start refuses an unmigrated database and names the command to run', async () => {
    const config = loadConfig({ DATABASE_URL: db.url, PORT: '0' });
    await assert.rejects(openStore(config, log), (err: Error) =>
      err instanceof SchemaBehindError && /npx neurocards migrate/.test(err.message));
    const cli = spawnCli(['start', '--no-bot'], { DATABASE_URL: db.url, PORT: '0' });
    const exit = await cli.exited;
    assert.equal(exit.code, 1);
    assert.match(cli.lines.join('\n'), /schema is empty.*Run `npx neurocards migrate`/);
  });

  test('two migrators at once apply every file exactly once, in order; a second run is a no-op', async () => {
    const a = postgres(db.url, { max: 2, onnotice: () => {} });
    const b = postgres(db.url, { max: 2, onnotice: () => {} });
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    const files = listMigrations();
    assert.equal(ra.length + rb.length, files.length, 'together they applied each file once');
    assert.ok(ra.length === 0 || rb.length === 0, 'the advisory lock let one do all the work');
    const rows = await db.sql`select version, name from supabase_migrations.schema_migrations order by version`;
    assert.deepEqual(rows.map((r) => `${r.version}_${r.name}`), files.map((f) => `${f.version}_${f.name}`));
    assert.deepEqual(await migrate(a), []);
    await a.end();
    await b.end();
    const config = loadConfig({ DATABASE_URL: db.url, PORT: '0' });
    const opened = await openStore(config, log);
    await opened.close();
  });

  test('a failing migration rolls back entirely and is not recorded', async () => {
    const bad = await createTestDb({ migrate: false, prefix: 'nc_badmig' });
    try {
      const { mkdtempSync, writeFileSync } = await import('node:fs');
      const dir = mkdtempSync('/tmp/mig-');
      writeFileSync(`${dir}/20990101000000_ok.sql`, 'create table t_ok (id int);');
      writeFileSync(`${dir}/20990101000001_broken.sql`, 'create table t_half (id int); select no_such_function();');
      const migrateMod = await import('../src/db/migrate.ts');
      await assert.rejects(migrateMod.migrate(bad.sql, () => {}, dir), /20990101000001_broken\.sql failed/);
      const [r] = await bad.sql`select to_regclass('t_ok')::text as ok, to_regclass('t_half')::text as half,
        (select count(*)::int from supabase_migrations.schema_migrations) as n`;
      assert.deepEqual(r, { ok: 't_ok', half: null, n: 1 });
    } finally {
      await bad.drop();
    }
  });
});

describe('Supabase security rules', () => {
  let db: TestDb;
  before(async () => { db = await createTestDb(); });
  after(async () => { await db.drop(); });

  test('RLS is enabled on every table in public', async () => {
    const rows = await db.sql`select relname, relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
                              where n.nspname = 'public' and c.relkind = 'r'`;
    assert.ok(rows.length >= 4);
    for (const r of rows) assert.equal(r.relrowsecurity, true, `${r.relname} has RLS`);
  });

  test('every function: SECURITY DEFINER with search_path = "", executable by service_role only; no exec_sql', async () => {
    const fns = await db.sql`
      select p.proname, p.prosecdef, p.proconfig, p.oid::regprocedure::text as sig,
             has_function_privilege('anon', p.oid, 'execute') as anon,
             has_function_privilege('authenticated', p.oid, 'execute') as authed,
             has_function_privilege('service_role', p.oid, 'execute') as service
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'`;
    const names = fns.map((f) => f.proname);
    for (const op of ['enqueue', 'claim', 'heartbeat', 'complete', 'fail', 'release', 'stats'])
      assert.ok(names.includes(op), `${op} exists`);
    assert.ok(!names.some((n) => /exec|sql|query|eval/i.test(n)), `no generic SQL function: ${names}`);
    for (const f of fns) {
      assert.equal(f.prosecdef, true, `${f.sig} is SECURITY DEFINER`);
      // search_path pinned; the only other setting allowed is a planner switch (complete() v4
      // keeps its primary-key scan with enable_bitmapscan=off), never a role or a search path.
      assert.equal(f.proconfig?.[0], 'search_path=""', `${f.sig} pins search_path`);
      assert.ok(f.proconfig.slice(1).every((c: string) => /^enable_\w+=(on|off)$/.test(c)), `${f.sig} settings: ${f.proconfig}`);
      assert.deepEqual([f.anon, f.authed, f.service], [false, false, true], `${f.sig} grants`);
    }
  });

  for (const role of ['anon', 'authenticated']) {
    test(`${role} gets "permission denied" on the functions and the tables`, async () => {
      for (const call of [`select * from public.claim('x', 1, 30)`, `select public.stats()`,
        `select * from public.enqueue('[{"kind":"noop"}]')`, `select * from public.jobs`]) {
        await assert.rejects(
          db.sql.begin(async (tx) => { await tx.unsafe(`set local role ${role}`); await tx.unsafe(call); }),
          (err: Error & { code?: string }) => err.code === '42501' && /permission denied/.test(err.message),
          `${role}: ${call}`);
      }
    });
  }

  test('service_role can call the functions but not read the tables directly', async () => {
    await db.sql.begin(async (tx) => {
      await tx.unsafe('set local role service_role');
      const [r] = await tx.unsafe(`select count(*)::int as n from public.enqueue('[{"kind":"noop"}]')`);
      assert.equal(r.n, 1);
    });
    await assert.rejects(db.sql.begin(async (tx) => { await tx.unsafe('set local role service_role'); await tx.unsafe('select * from public.jobs'); }),
      /permission denied/);
  });
});
