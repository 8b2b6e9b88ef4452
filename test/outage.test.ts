// Faults: the database vanishing mid-run, and a deploy's SIGTERM with an overlapping
// new instance. Nothing is lost or duplicated, and the process heals by itself.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PostgresStore } from '../src/db/postgres.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { startPgProxy, type PgProxy } from './support/pg-proxy.ts';
import { spawnCli, spawnTs, type Proc } from './support/procs.ts';
import { waitFor } from './support/wait.ts';

const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? 20_000);

describe('database outage', () => {
  let db: TestDb;
  let proxy: PgProxy;
  let store: PostgresStore;
  const procs: Proc[] = [];
  before(async () => {
    db = await createTestDb();
    proxy = await startPgProxy();
    store = new PostgresStore({ url: db.url, poolSize: 2, prepare: true });
  });
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await store.close();
    await proxy.close();
    await db.drop();
  });

  test(`unreachable for ${OUTAGE_MS / 1000} s mid-run: 503 with a reason, back to 200, LISTEN re-established, nothing lost or duplicated`, { timeout: 120_000 }, async () => {
    const app = spawnCli(['start', '--no-bot'], {
      DATABASE_URL: proxy.urlFor(db.url), PORT: '0', INSTANCE_ID: 'survivor', LOG_LEVEL: 'info',
      JOB_CONCURRENCY: '8', LEASE_SECONDS: '30', POLL_INTERVAL_MS: '60000', // wake-ups can only come from NOTIFY
      MAINTENANCE_EVERY_S: '0', // the queue-wide counts below are about this test's jobs only
    });
    procs.push(app);
    const { port } = await app.waitForJson<{ port: number; msg: string }>((o) => /HTTP on/.test(o.msg ?? ''), 30_000);
    const queue = async () => { const r = await fetch(`http://127.0.0.1:${port}/queue`); return { status: r.status, body: await r.json() }; };
    await app.waitForJson((o: { msg?: string }) => o.msg === 'worker pool started');

    // Work in flight when the database goes away.
    const jobs = await store.enqueue(Array.from({ length: 40 }, (_, i) => ({ kind: 'noop', payload: { ms: 200 + (i % 5) * 100 } })));
    await waitFor(async () => (await queue()).body.processing > 0, 10_000, 'jobs running');
    proxy.cut();
    const cutAt = Date.now();
    const down = await waitFor(async () => { const q = await queue(); return q.status === 503 ? q : null; }, 10_000, '503');
    assert.match(down.body.reason, /database unavailable|cannot claim|heartbeat/);
    // Enqueued while the app cannot see the database: must be picked up after.
    const during = await store.enqueue(Array.from({ length: 10 }, () => ({ kind: 'noop', payload: { ms: 5 } })));
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - cutAt)));
    assert.equal((await queue()).status, 503, 'still 503 while the database is away');
    const [{ restoredAt }] = await db.sql`select now() as "restoredAt"`;
    await proxy.restore();
    const healedAfter = await waitFor(async () => ((await queue()).status === 200 ? Date.now() - cutAt - OUTAGE_MS : null), 30_000, '200 again');

    const all = [...jobs, ...during].map((j) => j.id);
    await waitFor(async () => {
      const [r] = await db.sql`select count(*)::int as n from public.jobs where id = any(${all}::bigint[]) and status = 'succeeded'`;
      return r.n === all.length;
    }, 60_000, 'every job to succeed');
    const [r] = await db.sql`select count(*) filter (where status = 'running')::int as running, max(attempts)::int as max_attempts from public.jobs`;
    assert.equal(r.running, 0);

    // LISTEN is back: with a one-minute poll, only a NOTIFY can start this job quickly.
    await waitFor(async () => (await db.sql`select 1 from pg_stat_activity where datname = current_database()
      and query ilike 'listen %' and backend_start > ${restoredAt}`).length > 0, 10_000, 'LISTEN on a new connection');
    const t0 = Date.now();
    const [late] = await store.enqueue([{ kind: 'noop' }]);
    await waitFor(async () => (await store.getJob(late.id))?.status === 'succeeded', 10_000, 'wake-up after reconnect');
    const wakeMs = Date.now() - t0;
    assert.ok(wakeMs < 10_000);
    assert.ok(!app.lines.some((l) => /unhandled rejection/.test(l)), 'no unhandled rejection');
    assert.equal(app.child.exitCode, null, 'still running');
    console.log(`# outage ${OUTAGE_MS / 1000} s: healthy again ${(healedAfter / 1000).toFixed(1)} s after restore; ` +
      `${all.length} jobs done, max attempts ${r.max_attempts}; NOTIFY wake-up after reconnect ${wakeMs} ms`);
    app.child.kill('SIGTERM');
    assert.equal((await app.exited).code, 0);
  });
});

describe('reconnecting after a database restart', () => {
  test('the direct store answers within 3 s of the database coming back, however many reconnects failed meanwhile', { timeout: 60_000 }, async () => {
    // postgres.js's default backoff grows to 10-20 s after a few seconds of refused
    // connections; a worker parked that long loses its leases to other instances.
    const db = await createTestDb();
    const proxy = await startPgProxy();
    const s = new PostgresStore({ url: proxy.urlFor(db.url), poolSize: 4, prepare: true });
    try {
      await s.schemaVersion();
      proxy.cut();
      // Every refused connection attempt raises the pool's shared backoff.
      let refused = 0;
      const pending: Promise<unknown>[] = [];
      for (const end = Date.now() + 4_000; Date.now() < end; await sleep(100)) {
        pending.push(s.schemaVersion().catch(() => { refused++; }));
      }
      await proxy.restore();
      const t0 = Date.now();
      await Promise.all([...pending, ...Array.from({ length: 4 }, () => s.schemaVersion())]);
      const backMs = Date.now() - t0;
      console.log(`# 4 s of refused connections (${refused} queries failed): four new queries answered ${backMs} ms after the database came back`);
      assert.ok(refused >= 5, `queries were refused during the outage (${refused})`);
      assert.ok(backMs < 3_000, `answered ${backMs} ms after the database came back`);
    } finally {
      await s.close();
      await proxy.close();
      await db.drop();
    }
  });
});

describe('deploy: SIGTERM with an overlapping new instance', () => {
  let db: TestDb;
  let store: PostgresStore;
  const procs: Proc[] = [];
  before(async () => {
    db = await createTestDb();
    store = new PostgresStore({ url: db.url, poolSize: 2, prepare: true });
  });
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await store.close();
    await db.drop();
  });

  test('old instance: 503 first, finishes what it can, hands back the rest unspent, exits 0; the new one finishes everything once', { timeout: 120_000 }, async () => {
    // No scheduled maintenance: its jobs would take the old instance's first slots.
    const env = { DATABASE_URL: db.url, PORT: '0', LOG_LEVEL: 'info', JOB_CONCURRENCY: '4', SHUTDOWN_GRACE_MS: '3000', MAINTENANCE_EVERY_S: '0' };
    const old = spawnCli(['start', '--no-bot'], { ...env, INSTANCE_ID: 'old' });
    procs.push(old);
    const { port } = await old.waitForJson<{ port: number; msg: string }>((o) => /HTTP on/.test(o.msg ?? ''), 30_000);
    await old.waitForJson((o: { msg?: string }) => o.msg === 'worker pool started');
    const quick = await store.enqueue(Array.from({ length: 2 }, () => ({ kind: 'noop', payload: { ms: 1000 } })));
    const slow = await store.enqueue(Array.from({ length: 2 }, () => ({ kind: 'noop', payload: { ms: 20_000 } })));
    const rest = await store.enqueue(Array.from({ length: 30 }, () => ({ kind: 'noop', payload: { ms: 20 } })));
    const firstFour = [...quick, ...slow].map((j) => j.id);
    await waitFor(async () => {
      const [r] = await db.sql`select count(*)::int as n from public.jobs where id = any(${firstFour}::bigint[]) and lease_owner = 'old'`;
      return r.n === 4;
    }, 10_000, 'old to take four');

    // Render sends SIGTERM to the old instance while the new one comes up: they overlap
    // for the old one's whole grace period.
    old.child.kill('SIGTERM');
    const fresh = spawnCli(['start', '--no-bot'], { ...env, INSTANCE_ID: 'new' });
    procs.push(fresh);
    const during = await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      return r.status === 503 ? r.json() : null;
    }, 3_000, 'old instance to report 503');
    assert.match((during as { reason: string }).reason, /shutting down/);
    await fresh.waitForJson((o: { msg?: string }) => o.msg === 'worker pool started', 30_000);
    const exit = await old.exited;
    assert.equal(exit.code, 0);
    const stopped = old.lines.map((l) => { try { return JSON.parse(l); } catch { return {}; } }).find((o) => o.msg === 'worker pool stopped');
    assert.deepEqual({ finished: stopped.finished, released: stopped.released }, { finished: 2, released: 2 });

    const all = [...quick, ...slow, ...rest].map((j) => j.id);
    await waitFor(async () => {
      const [r] = await db.sql`select count(*)::int as n from public.jobs where id = any(${all}::bigint[]) and status = 'succeeded'`;
      return r.n === all.length;
    }, 60_000, 'all jobs to finish');
    const slowRows = await db.sql`select attempts, lease_owner from public.jobs where id = any(${slow.map((j) => j.id)}::bigint[])`;
    for (const s of slowRows) assert.equal(s.attempts, 1, 'the handed-back attempt was not spent');
    const [dup] = await db.sql`select count(*)::int as n from public.jobs where attempts > 1`;
    assert.equal(dup.n, 0, 'nothing ran twice');
    fresh.child.kill('SIGTERM');
    assert.equal((await fresh.exited).code, 0);
  });
});
