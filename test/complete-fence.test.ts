// complete() fences in its UPDATE's own WHERE (no separate lock pass): a row that a
// concurrent transaction takes over while complete() waits for it must be re-checked on
// its newest version and left alone. Two real connections on real Postgres.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { createTestDb, type TestDb } from './support/db.ts';

describe('complete() and a concurrent takeover', () => {
  let db: TestDb;
  before(async () => { db = await createTestDb(); });
  after(async () => { await db.drop(); });

  async function claimTwo(worker: string) {
    await db.sql`delete from public.jobs`;
    await db.sql`insert into public.jobs (kind, payload) values ('noop', '{}'), ('noop', '{}')`;
    return db.sql<{ id: string; attempts: number }[]>`select id, attempts from public.claim(${worker}, 2, 30) order by id`;
  }

  /** Runs complete(w1, both jobs) while `takeover` holds the first row's new version uncommitted. */
  async function completeDuringTakeover(takeover: string) {
    const [a, b] = await claimTwo('w1');
    const other = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      let done: Promise<string[]> | undefined;
      await other.begin(async (tx) => {
        await tx.unsafe(takeover, [a.id]);
        done = db.sql<{ id: string }[]>`select c::text as id from public.complete('w1', ${`{${a.id},${b.id}}`}::bigint[], '{1,1}'::int[]) c`
          .then((rows) => rows.map((r) => r.id));
        // complete() must be waiting on the row lock, not finished on the old version.
        const waiting = await waitFor(async () => (await tx`
          select count(*)::int as n from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock' and query like '%complete(%'`)[0].n === 1);
        assert.ok(waiting, 'complete() should wait for the row the takeover holds');
      });
      return { done: (await done!).sort(), a, b };
    } finally {
      await other.end();
    }
  }

  test('a lease taken over by another worker while complete() waits is not overwritten', async () => {
    const { done, a, b } = await completeDuringTakeover(
      `update public.jobs set lease_owner = 'w2', attempts = attempts + 1 where id = $1`);
    assert.deepEqual(done, [b.id], 'only the job still held by w1 is completed');
    const [row] = await db.sql`select status::text, lease_owner, attempts from public.jobs where id = ${a.id}`;
    assert.deepEqual({ ...row }, { status: 'running', lease_owner: 'w2', attempts: 2 });
  });

  test('the same worker re-claiming the job (a newer attempt) fences the older attempt out', async () => {
    const { done, a, b } = await completeDuringTakeover(
      `update public.jobs set attempts = attempts + 1 where id = $1`);
    assert.deepEqual(done, [b.id]);
    const [row] = await db.sql`select status::text, attempts from public.jobs where id = ${a.id}`;
    assert.deepEqual({ ...row }, { status: 'running', attempts: 2 });
  });

  test('a heartbeat in between (same owner, same attempt) does not stop the completion', async () => {
    const { done, a, b } = await completeDuringTakeover(
      `update public.jobs set lease_expires_at = now() + interval '60 seconds' where id = $1`);
    assert.deepEqual(done, [a.id, b.id].sort());
  });
});

async function waitFor(pred: () => Promise<boolean>, ms = 5_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
