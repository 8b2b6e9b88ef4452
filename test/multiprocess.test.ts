// Exactly-once under real concurrency: separate OS processes against one database.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgresStore } from '../src/db/postgres.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { spawnCli, spawnTs, type Proc } from './support/procs.ts';
import { waitFor } from './support/wait.ts';


/** Highest number of intervals open at once. */
function maxOverlap(intervals: { start: number; end: number }[]) {
  const ev = intervals.flatMap((i) => [[i.start, 1], [i.end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0, max = 0;
  for (const [, d] of ev) { cur += d; max = Math.max(max, cur); }
  return max;
}

describe('multiple worker processes', () => {
  let db: TestDb;
  let store: PostgresStore;
  const procs: Proc[] = [];

  before(async () => {
    db = await createTestDb();
    await db.sql`create table test_effects (job_id bigint, attempt int, worker text, started_at timestamptz, finished_at timestamptz)`;
    store = new PostgresStore({ url: db.url, poolSize: 2, prepare: true });
  });
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await store.close();
    await db.drop();
  });

  const startWorkers = async (n: number, env: Record<string, string> = {}) => {
    const ps = Array.from({ length: n }, (_, i) => spawnTs('test/support/effect-worker.ts', [], {
      DATABASE_URL: db.url, WORKER_ID: `w${procs.length + i}`, CONCURRENCY: '8', ...env,
    }));
    procs.push(...ps);
    await Promise.all(ps.map((p) => p.waitForJson((o: { ready?: string }) => !!o.ready)));
    return ps;
  };
  const stopWorkers = async (ps: Proc[]) => {
    const reports = ps.map((p) => p.waitForJson<{ worker: string; peakInFlight: number; peakHandlers: number; claimed: number }>((o) => 'peakInFlight' in o));
    for (const p of ps) p.child.kill('SIGTERM');
    return Promise.all(reports);
  };

  test('4 processes x concurrency 8, 2,000 jobs of 0-20 ms: each runs exactly once, none lost, never over 8 in flight', async () => {
    const workers = await startWorkers(4);
    const t0 = performance.now();
    for (let i = 0; i < 2000; i += 500)
      await store.enqueue(Array.from({ length: 500 }, () => ({ kind: 'effect', payload: { ms: Math.floor(Math.random() * 21) } })));
    await waitFor(async () => {
      const [r] = await db.sql`select count(*) filter (where status = 'succeeded')::int as done from public.jobs where kind = 'effect'`;
      return r.done === 2000;
    }, 120_000, 'all 2000 jobs to succeed');
    const seconds = (performance.now() - t0) / 1000;
    const reports = await stopWorkers(workers);

    const [counts] = await db.sql`
      select count(*)::int as effects, count(distinct job_id)::int as jobs,
             (select count(*)::int from (select job_id from test_effects group by job_id having count(*) > 1) d) as duplicated
      from test_effects`;
    assert.deepEqual(counts, { effects: 2000, jobs: 2000, duplicated: 0 });
    const [states] = await db.sql`select count(*) filter (where status <> 'succeeded')::int as not_done,
                                         count(*) filter (where attempts <> 1)::int as retried from public.jobs where kind = 'effect'`;
    assert.deepEqual(states, { not_done: 0, retried: 0 });
    for (const r of reports) {
      assert.ok(r.peakInFlight <= 8 && r.peakHandlers <= 8, `${r.worker}: peak ${r.peakInFlight}/${r.peakHandlers}`);
      assert.ok(r.claimed > 0, `${r.worker} took part`);
    }
    // Checked from the effects too, not only from the processes' own counters.
    const rows = await db.sql<{ worker: string; s: number; e: number }[]>`
      select worker, extract(epoch from started_at)*1000 as s, extract(epoch from finished_at)*1000 as e from test_effects`;
    for (const w of new Set(rows.map((r) => r.worker))) {
      const overlap = maxOverlap(rows.filter((r) => r.worker === w).map((r) => ({ start: Number(r.s), end: Number(r.e) })));
      assert.ok(overlap <= 8, `${w} had ${overlap} effects overlapping`);
    }
    console.log(`# 4 processes x 8: 2000 jobs in ${seconds.toFixed(2)} s = ${Math.round(2000 / seconds)} jobs/s; ` +
      `per process ${reports.map((r) => r.claimed).join('/')}`);
    await db.sql`truncate test_effects`;
  });

  test('seed 000: two workers started at the same moment do no duplicate work', async () => {
    await store.enqueue(Array.from({ length: 300 }, () => ({ kind: 'effect', payload: { ms: 2 } })));
    const workers = await startWorkers(2);
    await waitFor(async () => {
      const [r] = await db.sql`select count(*)::int as n from public.jobs where kind = 'effect' and status <> 'succeeded'`;
      return r.n === 0;
    }, 60_000, 'drain');
    const reports = await stopWorkers(workers);
    const [c] = await db.sql`select count(*)::int as effects, count(distinct job_id)::int as jobs from test_effects`;
    assert.deepEqual(c, { effects: 300, jobs: 300 });
    assert.ok(reports.every((r) => r.claimed > 0), 'both took part');
    await db.sql`truncate test_effects`;
  });

  test('SIGKILL mid-job: another process takes the jobs over after the lease expires, nothing stays running', async () => {
    const env = { DATABASE_URL: db.url, LEASE_SECONDS: '2', POLL_INTERVAL_MS: '200', JOB_CONCURRENCY: '4', LOG_LEVEL: 'warn',
      MAINTENANCE_EVERY_S: '0' }; // only this test's jobs are in the queue
    const a = spawnCli(['start', '--no-bot'], { ...env, INSTANCE_ID: 'victim', PORT: '0' });
    procs.push(a);
    const jobs = await store.enqueue(Array.from({ length: 4 }, () => ({ kind: 'noop', payload: { ms: 3000 } })));
    const ids = jobs.map((j) => j.id);
    await waitFor(async () => {
      const [r] = await db.sql`select count(*)::int as n from public.jobs where id = any(${ids}::bigint[]) and lease_owner = 'victim'`;
      return r.n === 4;
    }, 20_000, 'victim to hold all four');
    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    const b = spawnCli(['start', '--no-bot'], { ...env, INSTANCE_ID: 'rescuer', PORT: '0' });
    procs.push(b);
    await waitFor(async () => {
      const [r] = await db.sql`select count(*)::int as n from public.jobs where id = any(${ids}::bigint[]) and lease_owner = 'rescuer'`;
      return r.n === 4;
    }, 30_000, 'rescuer to take over');
    const takeoverMs = Date.now() - killedAt;
    await waitFor(async () => {
      const [r] = await db.sql`select count(*)::int as n from public.jobs where id = any(${ids}::bigint[]) and status = 'succeeded'`;
      return r.n === 4;
    }, 30_000, 'jobs to finish');
    const rows = await db.sql`select attempts, last_error from public.jobs where id = any(${ids}::bigint[])`;
    for (const r of rows) {
      assert.equal(r.attempts, 2);
      assert.match(r.last_error, /lease expired: worker victim/);
    }
    const [stuck] = await db.sql`select count(*)::int as n from public.jobs where status = 'running'`;
    assert.equal(stuck.n, 0);
    console.log(`# SIGKILL recovery: jobs taken over ${(takeoverMs / 1000).toFixed(2)} s after the kill (lease 2 s)`);
    b.child.kill('SIGTERM');
    const exit = await b.exited;
    assert.equal(exit.code, 0, 'graceful stop exits 0');
  });
});
