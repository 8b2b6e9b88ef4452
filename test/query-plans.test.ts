// The queue's hot statements keep their plan whatever the statistics say. Plans inside the
// SQL functions are read with auto_explain (nested statements, sent to this session as
// LOG notices), so the test sees exactly what the function ran.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { createTestDb, type TestDb } from './support/db.ts';

describe('query plans', () => {
  let db: TestDb;
  before(async () => { db = await createTestDb(); });
  after(async () => { await db.drop(); });

  /** Runs fn on one connection with auto_explain on; returns the plans it logged. */
  async function plansOf(fn: (sql: postgres.Sql) => Promise<void>): Promise<string[]> {
    const plans: string[] = [];
    const sql = postgres(db.url, {
      max: 1,
      onnotice: (n) => { if (/plan:/.test(n.message)) plans.push(n.message); },
    });
    try {
      await sql.unsafe(`load 'auto_explain'`);
      await sql.unsafe('set auto_explain.log_min_duration = 0');
      await sql.unsafe('set auto_explain.log_nested_statements = on');
      await sql.unsafe('set client_min_messages = log');
      await fn(sql);
    } finally {
      await sql.end();
    }
    return plans;
  }

  test('complete() looks its batch up by primary key, even with statistics from before any job ran', async () => {
    // A backlog analysed before any worker started: lease_owner all NULL, no running rows.
    // With these statistics the second version planned `lease_owner = $worker` at one row
    // and scanned the whole table for it, rescanning the batch per running row.
    await db.sql`insert into public.jobs (kind, payload) select 'bench', '{}' from generate_series(1, 5000)`;
    await db.sql.unsafe('vacuum analyze public.jobs');
    const plans: string[] = [];
    let completed = 0;
    // Seven calls: plpgsql plans the first five for their arguments, then may switch to a
    // generic plan; both kinds are covered. Odd calls pass results.
    for (let i = 0; i < 7; i++) {
      const w = `worker-${i}`;
      const claimed = await db.sql<{ id: string; attempts: number }[]>`select id, attempts from public.claim(${w}, 200, 30)`;
      assert.equal(claimed.length, 200);
      plans.push(...await plansOf(async (sql) => {
        const ids = `{${claimed.map((r) => r.id).join(',')}}`;
        const attempts = `{${claimed.map((r) => r.attempts).join(',')}}`;
        const results = i % 2 ? sql.json(claimed.map((r) => ({ n: Number(r.id) }))) : null;
        const done = await sql`select count(*)::int as n from public.complete(${w}, ${ids}::bigint[], ${attempts}::int[], ${results})`;
        completed += done[0].n;
      }));
    }
    assert.equal(completed, 1400);
    const inner = plans.filter((p) => /update public\.jobs|from public\.jobs j/.test(p) && /Query Text/.test(p));
    for (const p of inner) {
      const plan = p.slice(p.search(/\n\s*(CTE Scan|Aggregate|Update|Nested Loop|Result)/));
      assert.doesNotMatch(plan, /Seq Scan on jobs/, plan);
      assert.doesNotMatch(plan, /jobs_running_lease_idx/, plan);
      assert.match(plan, /jobs_pkey/, plan);
      // A plain index scan visits the sorted ids in order, so rows are locked in id order
      // (a bitmap heap scan would lock them in page order).
      assert.doesNotMatch(plan, /Bitmap/, plan);
    }
    assert.ok(inner.length >= 7, `one statement per call was logged (got ${inner.length})`);
    // And the results landed on the right rows.
    const wrong = await db.sql`select count(*)::int as n from public.jobs where result is not null and (result ->> 'n')::bigint <> id`;
    const withResult = await db.sql`select count(*)::int as n from public.jobs where result is not null`;
    assert.equal(wrong[0].n, 0);
    assert.equal(withResult[0].n, 600);
  });
});
