// supabase/schemas (the current SQL, one object per file) and supabase/migrations (the
// append-only history deployed databases replay) must describe the same database. One
// fresh database gets every migration through the real runner, another every schema file
// in the order supabase/config.toml declares; their catalogs must be equal (see
// test/support/catalog.ts for what is compared). A change made on one side only fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { diffSnapshots, snapshot, type Snapshot } from './support/catalog.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { allSchemaFiles, declaredSchemaFiles, SUPABASE_DIR } from './support/schema-files.ts';

const NAMES: [string, string] = ['migrations', 'schemas'];

describe('supabase/schemas builds what supabase/migrations build', () => {
  let fromMigrations: TestDb;
  let fromSchemas: TestDb;
  let migrated: Snapshot;
  let declared: Snapshot;

  before(async () => {
    fromMigrations = await createTestDb({ prefix: 'nc_eq_mig' });
    fromSchemas = await createTestDb({ prefix: 'nc_eq_decl', migrate: false });
    for (const file of declaredSchemaFiles()) {
      try {
        await fromSchemas.sql.unsafe(readFileSync(join(SUPABASE_DIR, file), 'utf8'));
      } catch (err) {
        throw new Error(`supabase/${file} failed on a database built from the files before it: ${(err as Error).message}`);
      }
    }
    [migrated, declared] = await Promise.all([snapshot(fromMigrations.sql), snapshot(fromSchemas.sql)]);
  });
  after(async () => {
    await fromMigrations?.drop();
    await fromSchemas?.drop();
  });

  test("config.toml's schema_paths take every file of supabase/schemas, each once", () => {
    const declaredFiles = declaredSchemaFiles();
    assert.deepEqual([...declaredFiles].sort(), allSchemaFiles(),
      'a file under supabase/schemas that no schema_paths pattern matches is never applied by the Supabase CLI');
    assert.equal(new Set(declaredFiles).size, declaredFiles.length);
  });

  test('the catalogs are equal: tables, columns, constraints, indexes, functions, grants, RLS, policies, rows', () => {
    // Not vacuous: the snapshot sees the app's objects.
    assert.equal(Object.keys(migrated.function).length, 77); // 53 + order_photo_put, order_photo (issue 14) + 7 api card stages + 7 ai_* (issue 15) + 7 bot order stages less order_rendered, order_card + api_card_cancel, job_eta + order_delivery_end
    assert.ok(Object.keys(migrated.relation).length >= 20 && Object.keys(migrated.index).length >= 20);
    assert.ok(Object.keys(migrated.column).length >= 100 && Object.keys(migrated.constraint).length >= 30);
    const diff = diffSnapshots(migrated, declared, NAMES);
    assert.deepEqual(diff, [], `supabase/schemas and supabase/migrations disagree:\n  ${diff.join('\n  ')}\n` +
      'Change both: the schema file is the current definition, a new migration brings deployed databases to it.');
  });

  test('the history table declared in supabase/schemas is the one the migration runner makes', async () => {
    const shape = (db: TestDb) => db.sql`
      select a.attname, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull
        from pg_attribute a where a.attrelid = 'supabase_migrations.schema_migrations'::regclass
         and a.attnum > 0 and not a.attisdropped order by a.attnum`;
    assert.deepEqual(await shape(fromSchemas), await shape(fromMigrations));
  });

  // The comparison itself must see a change to any one kind of object: each edit below is
  // made to the schemas-built database inside a transaction that is rolled back.
  const oneSided: [string, string, RegExp][] = [
    ['a function body', `create or replace function public.worker_leave(p_worker text) returns void
       language sql volatile security definer set search_path = ''
       as $$ delete from public.workers where id = p_worker and true; $$`, /^function public\.worker_leave\(text\): body differs/],
    ['a new column', 'alter table public.jobs add column equality_probe text', /^column jobs\.equality_probe: only in schemas/],
    ['a column default', `alter table public.orders alter column lang set default 'en'`, /^column orders\.lang: default differs/],
    ['a column type', 'alter table public.workers alter column concurrency type bigint', /^column workers\.concurrency: type differs/],
    ['nullability', 'alter table public.jobs alter column fair_key set not null', /^column jobs\.fair_key: not_null differs/],
    ['a check constraint', 'alter table public.jobs drop constraint jobs_max_attempts_check', /^constraint jobs\.jobs_max_attempts_check: only in migrations/],
    ['an index definition', `drop index public.jobs_claim_idx;
       create index jobs_claim_idx on public.jobs (priority, vtime) where status = 'queued'`, /^index jobs_claim_idx: definition differs/],
    ['a function grant', 'grant execute on function public.stats() to anon', /^function public\.stats\(\): acl differs/],
    ['a table grant', 'grant select on public.orders to authenticated', /^relation orders: acl differs/],
    ['RLS turned off', 'alter table public.api_keys disable row level security', /^relation api_keys: rls differs/],
    ['a policy', 'create policy own on public.bot_sessions for select to authenticated using (true)', /^policy bot_sessions\.own: only in schemas/],
    ['security definer', 'alter function public.get_job(bigint) security invoker', /^function public\.get_job\(bigint\): security_definer differs/],
    ['search_path', 'alter function public.get_job(bigint) reset search_path', /^function public\.get_job\(bigint\): config differs/],
    ['volatility', 'alter function public.stats() volatile', /^function public\.stats\(\): volatility differs/],
    ['an argument', `create function public.get_job(p_id bigint, p_extra integer) returns setof public.jobs
       language sql stable security definer set search_path = '' as $$ select * from public.jobs where id = p_id $$`,
    /^function public\.get_job\(bigint, integer\): only in schemas/],
    ['a trigger', 'drop trigger api_cards_trash on public.api_cards', /^trigger api_cards\.api_cards_trash: only in migrations/],
    ['seeded rows', 'update public.rate_limits set max_calls = 101 where window_seconds = 60', /^rows rate_limits: rows differs/],
  ];
  for (const [what, ddl, expected] of oneSided) {
    test(`a change to ${what} on one side only is reported`, async () => {
      let changed: Snapshot | undefined;
      await fromSchemas.sql.begin(async (tx) => {
        await tx.unsafe(ddl);
        changed = await snapshot(tx);
        throw new Rollback();
      }).catch((err) => { if (!(err instanceof Rollback)) throw err; });
      const diff = diffSnapshots(migrated, changed!, NAMES);
      assert.ok(diff.some((line) => expected.test(line)), `expected ${expected} in:\n  ${diff.join('\n  ')}`);
    });
  }
});

class Rollback extends Error {}
