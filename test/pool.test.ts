// The worker pool in-process on real Postgres: bad input ends in a clear state with
// its error kept while the pool keeps working; graceful stop hands work back;
// LISTEN/NOTIFY wakes an idle pool.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { z } from 'zod';
import { loadConfig } from '../src/config.ts';
import { openStore } from '../src/db/open.ts';
import { PostgresStore } from '../src/db/postgres.ts';
import type { Job } from '../src/db/store.ts';
import { createLogger } from '../src/log.ts';
import { noopJob } from '../src/worker/jobs/noop.ts';
import { Heartbeat } from '../src/worker/lease.ts';
import { WorkerPool } from '../src/worker/pool.ts';
import { defineJob, JobRegistry } from '../src/worker/registry.ts';
import { PermanentError } from '../src/worker/retry.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { waitFor } from './support/wait.ts';

const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

const throwing = defineJob({
  kind: 'throws', payload: z.object({ permanent: z.boolean().default(false) }), policy: { baseMs: 50, maxMs: 50 }, timeoutMs: 5_000,
  async handle({ permanent }) {
    if (permanent) throw new PermanentError('photo is not an image');
    throw new Error('handler exploded');
  },
});
let hungSignalAborted = false;
const hangs = defineJob({
  kind: 'hangs', payload: z.object({}), policy: { baseMs: 50, maxMs: 50 }, timeoutMs: 300,
  handle(_p, { signal }) {
    signal.addEventListener('abort', () => { hungSignalAborted = true; });
    return new Promise(() => {}); // never settles
  },
});


describe('worker pool', () => {
  let db: TestDb;
  let store: PostgresStore;
  const pools: WorkerPool[] = [];
  const newPool = (o: Partial<ConstructorParameters<typeof WorkerPool>[0]> = {}) => {
    const p = new WorkerPool({
      store, log, registry: new JobRegistry([noopJob, throwing, hangs]), workerId: `pool-${pools.length}`,
      concurrency: 4, leaseSeconds: 30, pollIntervalMs: 200, ...o,
    });
    pools.push(p);
    return p;
  };
  const job = async (id: string) => (await store.getJob(id))!;
  const settled = (id: string, statuses = ['succeeded', 'dead']) =>
    waitFor(async () => { const j = await job(id); return statuses.includes(j.status) ? j : null; }, 10_000, `job ${id} to settle`);

  before(async () => {
    db = await createTestDb();
    store = new PostgresStore({ url: db.url, poolSize: 4, prepare: true });
  });
  // A test that fails leaves no pool running into the next one's jobs.
  afterEach(async () => {
    for (const p of pools) await p.stop(0);
  });
  after(async () => {
    for (const p of pools) await p.stop(0);
    await store.close();
    await db.drop();
  });

  test('bad input: malformed payload, unknown kind, throwing and hanging handlers; the pool keeps working', async () => {
    const pool = newPool();
    await pool.start();
    const [malformed, unknown, throws, permanent, hung] = await store.enqueue([
      { kind: 'noop', payload: { ms: 'soon', extra: true } },
      { kind: 'no-such-kind', maxAttempts: 2 },
      { kind: 'throws', maxAttempts: 2 },
      { kind: 'throws', payload: { permanent: true } },
      { kind: 'hangs', maxAttempts: 1 },
    ]);
    // A payload that is not even an object: written by hand, as a broken row would be.
    const [{ id: garbage }] = await db.sql`insert into public.jobs (kind, payload) values ('noop', '"not an object"') returning id::text`;
    await store.onWake(() => {}); // (the pool is already listening; this just exercises a second LISTEN)
    await db.sql`select pg_notify('neurocards_jobs', '')`;

    const m = await settled(malformed.id);
    assert.equal(m.status, 'dead');
    assert.equal(m.attempts, 1, 'invalid payload is permanent: no retries');
    assert.match(m.lastError!, /invalid payload for noop/);

    const g = await settled(garbage);
    assert.equal(g.status, 'dead');
    assert.match(g.lastError!, /invalid payload/);

    const p = await settled(permanent.id);
    assert.equal(p.status, 'dead');
    assert.equal(p.attempts, 1);
    assert.match(p.lastError!, /PermanentError: photo is not an image/);

    const h = await settled(hung.id);
    assert.equal(h.status, 'dead');
    assert.match(h.lastError!, /timed out after 300 ms/);
    assert.ok(hungSignalAborted, 'the hung handler was told to stop through its AbortSignal');

    // Retryable failures: retried with backoff (scheduled), then dead after max attempts.
    await waitFor(async () => (await job(throws.id)).attempts === 2 && (await job(throws.id)).status === 'dead', 15_000, 'throws to die');
    const t = await job(throws.id);
    assert.match(t.lastError!, /handler exploded/);
    const u = await settled(unknown.id);
    assert.equal(u.status, 'dead');
    assert.equal(u.attempts, 2);
    assert.match(u.lastError!, /unknown job kind "no-such-kind"/);

    // And the pool still works.
    const [ok] = await store.enqueue([{ kind: 'noop', payload: { ms: 5 } }]);
    assert.equal((await settled(ok.id)).status, 'succeeded');
    assert.equal(pool.health().ok, true);
    await pool.stop(1000);
  });

  test('concurrency is a hard limit and each claim asks for exactly the free slots', async () => {
    const claims: number[] = [];
    const spy = Object.create(store) as PostgresStore;
    spy.claim = (w: string, limit: number, lease: number) => { claims.push(limit); return store.claim(w, limit, lease); };
    // No claim-ahead here (a slow box's round trips would earn some): this is the plain claim.
    const pool = newPool({ store: spy, concurrency: 3, maxAhead: 0 });
    await store.enqueue(Array.from({ length: 30 }, () => ({ kind: 'noop', payload: { ms: 15 } })));
    await pool.start();
    await waitFor(async () => (await store.stats()).queued === 0 && pool.inFlight === 0, 15_000, 'drain');
    assert.ok(pool.peakInFlight <= 3, `peak ${pool.peakInFlight}`);
    assert.equal(pool.peakInFlight, 3);
    assert.ok(claims.every((n) => n >= 1 && n <= 3), `claim sizes ${claims}`);
    assert.equal(claims[0], 3, 'the first claim fills every slot at once');
    await pool.stop(1000);
  });

  test('a backlog of short jobs is claimed ahead (never more than concurrency running); what is held goes back unspent at stop', async () => {
    const claims: number[] = [];
    const spy = Object.create(store) as PostgresStore;
    spy.claim = (w: string, limit: number, lease: number) => { claims.push(limit); return store.claim(w, limit, lease); };
    const pool = newPool({ store: spy, concurrency: 4 });
    const jobs = await store.enqueue(Array.from({ length: 3000 }, () => ({ kind: 'noop', payload: { ms: 0 } })));
    await pool.start();
    await waitFor(async () => pool.claimed >= 1500, 30_000, 'half the backlog');
    const res = await pool.stop(2_000);
    assert.ok(pool.peakInFlight <= 4, `peak ${pool.peakInFlight}`);
    assert.ok(claims.some((n) => n > 4), `claimed ahead: ${claims.slice(0, 40)}`);
    assert.ok(claims.every((n) => n <= 4 + 8 * 4), `at most concurrency + maxAhead (8 × concurrency) per claim: ${claims.slice(0, 40)}`);
    const ids = jobs.map((j) => j.id);
    const rows = await db.sql`select status::text, attempts, count(*)::int as n from public.jobs where id = any(${ids}::bigint[]) group by 1, 2`;
    const by = Object.fromEntries(rows.map((r) => [`${r.status}/${r.attempts}`, r.n]));
    assert.deepEqual(Object.keys(by).sort(), ['queued/0', 'succeeded/1'], `after stop: ${JSON.stringify(by)} (${JSON.stringify(res)})`);
    assert.equal(by['succeeded/1'] + by['queued/0'], 3000);
    await db.sql`delete from public.jobs where status = 'queued'`;
  });

  test('mixed short and long jobs: a pool holds no more than it will start soon, and the long jobs spread across pools', async () => {
    // The fleet benchmark's starvation at small scale: the first jobs a pool finishes are
    // short, and a claim-ahead sized from their run time made it hold every long job
    // (concurrency + 8 × concurrency) while the pools next to it found the queue empty.
    const short = await store.enqueue(Array.from({ length: 6 }, () => ({ kind: 'noop', payload: { ms: 0 } })));
    const long = await store.enqueue(Array.from({ length: 48 }, () => ({ kind: 'noop', payload: { ms: 200 } })));
    const longIds = new Set(long.map((j) => j.id));
    const started = new Map<string, number>();
    const mk = (name: string) => {
      const p = newPool({ concurrency: 4, hooks: { onStart: (j) => { if (longIds.has(j.id)) started.set(name, (started.get(name) ?? 0) + 1); } } });
      return p;
    };
    const [a, b, c] = [mk('a'), mk('b'), mk('c')];
    await a.start();
    // a has finished the short jobs and holds its slots with long ones before b and c start
    await waitFor(async () => a.claimed >= short.length + 4 && a.inFlight === 4, 10_000, 'pool a busy with long jobs');
    await Promise.all([b.start(), c.start()]);
    const ids = [...short, ...long].map((j) => j.id);
    await waitFor(async () => {
      const [{ n }] = await db.sql`select count(*)::int as n from public.jobs where id = any(${ids}::bigint[]) and status = 'succeeded'`;
      return n === ids.length;
    }, 30_000, 'every job to succeed');
    const share = Object.fromEntries(['a', 'b', 'c'].map((k) => [k, started.get(k) ?? 0]));
    assert.ok(a.peakAhead <= 4, `pool a held ${a.peakAhead} jobs ahead at once (${JSON.stringify(share)})`);
    assert.equal(share.a + share.b + share.c, long.length, `each long job started once: ${JSON.stringify(share)}`);
    // Fair would be 16 each; a starts 4-6 before b and c exist.
    for (const k of ['b', 'c']) assert.ok(share[k] >= 10, `pool ${k} started only ${share[k]} of ${long.length} long jobs: ${JSON.stringify(share)}`);
    for (const p of [a, b, c]) await p.stop(1000);
  });

  test('graceful stop: running jobs finish within the grace period, the rest go back without spending an attempt', async () => {
    const pool = newPool({ concurrency: 4 });
    await pool.start();
    const [quick] = await store.enqueue([{ kind: 'noop', payload: { ms: 100 } }]);
    const slow = await store.enqueue(Array.from({ length: 3 }, () => ({ kind: 'noop', payload: { ms: 20_000 } })));
    await waitFor(async () => pool.inFlight === 4, 5_000, 'all four running');
    const t0 = Date.now();
    const res = await pool.stop(600);
    assert.ok(Date.now() - t0 < 5_000);
    assert.deepEqual(res, { finished: 1, released: 3 });
    assert.equal((await job(quick.id)).status, 'succeeded');
    for (const s of slow) {
      const j = await job(s.id);
      assert.equal(j.status, 'queued');
      assert.equal(j.attempts, 0, 'the handed-back attempt is not counted');
      assert.equal(j.leaseOwner, null);
    }
    const stats = await store.stats();
    assert.ok(!stats.instances.some((i) => i.id === 'pool-2'), 'deregistered');
    await db.sql`delete from public.jobs where status = 'queued'`;
  });

  test('an idle pool is woken by NOTIFY, not by its poll timer', async () => {
    const pool = newPool({ pollIntervalMs: 60_000, concurrency: 2 });
    const started = new Map<string, number>();
    (pool as unknown as { o: { hooks: unknown } }).o.hooks = { onStart: (j: Job) => started.set(j.id, performance.now()) };
    await pool.start();
    // Idle: its claim came back empty and only the poll timer, a minute away, is armed.
    const inner = pool as unknown as { claiming: boolean; pollTimer: unknown; running: Map<string, unknown> };
    const idle = () => waitFor(async () => !inner.claiming && inner.pollTimer !== null && inner.running.size === 0, 5_000, 'the pool to go idle', 5);
    const lat: number[] = [];
    for (let i = 0; i < 30; i++) {
      await idle();
      const t0 = performance.now();
      const [j] = await store.enqueue([{ kind: 'noop' }]);
      await waitFor(async () => started.has(j.id), 5_000, 'wake-up');
      lat.push(started.get(j.id)! - t0);
    }
    lat.sort((a, b) => a - b);
    const p = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(1);
    console.log(`# wake-up latency enqueue→start (direct mode, in-process): p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, max ${p(1)} ms`);
    assert.ok(lat.at(-1)! < 5_000);
    await pool.stop(1000);
  });

  test('behind a transaction pooler (DATABASE_PREPARE=false, or DATABASE_LISTEN=false): no LISTEN, the pool polls', async () => {
    const listening = async (app: string) => (await db.sql`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name = ${app} and query ilike 'listen %'`)[0].n as number;
    const cases = [
      { env: {}, listen: true },
      { env: { DATABASE_PREPARE: 'false' }, listen: false },
      { env: { DATABASE_LISTEN: 'false' }, listen: false },
      { env: { DATABASE_PREPARE: 'false', DATABASE_LISTEN: 'true' }, listen: true },
    ];
    for (const [i, c] of cases.entries()) {
      const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', INSTANCE_ID: `pooler-${i}`, ...c.env });
      const opened = await openStore(config, log);
      const pool = new WorkerPool({
        store: opened.store, log, registry: new JobRegistry([noopJob]), workerId: `pooler-${i}`,
        concurrency: 2, leaseSeconds: 30, pollIntervalMs: 300,
      });
      try {
        await pool.start();
        const app = `neurocards pooler-${i}`;
        // With LISTEN its connection shows in pg_stat_activity (the control for the "none" case).
        if (c.listen) await waitFor(async () => (await listening(app)) === 1, 5_000, `LISTEN for ${JSON.stringify(c.env)}`);
        else assert.equal(await listening(app), 0, `no LISTEN for ${JSON.stringify(c.env)}`);
        assert.equal((pool as unknown as { push: boolean }).push, c.listen);
        const [j] = await store.enqueue([{ kind: 'noop' }]);
        await settled(j.id); // woken by NOTIFY or found by the poll (300 ms)
      } finally {
        await pool.stop(1000);
        await opened.close();
      }
    }
  });
});

// The heartbeat against real Postgres, its round trip slowed the way a loaded box slows it
// (a Store whose heartbeat call is delayed on its way there and back).
describe('heartbeat', () => {
  let db: TestDb;
  let store: PostgresStore;
  const beats: Heartbeat[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** A store whose heartbeat reaches the database `before` ms late and answers `after` ms late. */
  const slowBeat = (before: number | (() => Promise<void>), after = 0) => {
    const s = Object.create(store) as PostgresStore;
    s.heartbeat = async (b) => {
      await (typeof before === 'number' ? sleep(before) : before());
      const answer = await store.heartbeat(b);
      await sleep(after);
      return answer;
    };
    return s;
  };
  const heartbeat = (s: PostgresStore, workerId: string, leaseSeconds: number, held: Map<string, number>, o: { settling?: Set<string>; lost?: string[] } = {}) => {
    const hb = new Heartbeat({
      store: s, log, workerId, concurrency: 1, leaseSeconds, meta: {}, inFlight: () => held.size,
      held: () => new Map(held), settling: (id) => o.settling?.has(id) ?? false,
      onLost: (ids) => o.lost?.push(...ids), onCanceled: () => {},
    });
    beats.push(hb);
    return hb;
  };

  before(async () => {
    db = await createTestDb();
    store = new PostgresStore({ url: db.url, poolSize: 4, prepare: true });
  });
  after(async () => {
    for (const b of beats) b.stop();
    await store.close();
    await db.drop();
  });

  test('a heartbeat slower than LEASE/2 keeps the lease: beats are timed from when they are sent', async () => {
    const LEASE = 4;
    await store.enqueue([{ kind: 'noop', payload: { ms: 1 } }]);
    const [job] = await store.claim('slow-beat', 1, LEASE);
    assert.ok(job);
    const held = new Map([[job.id, Date.now() - 1]]);
    const lost: string[] = [];
    // 3 s round trip (> LEASE/2 = 2 s, < LEASE): the database sees each beat 0.3 s after it is
    // sent. Timed from the answer, the next beat would reach it 5.3 s after the last: lapsed.
    const hb = heartbeat(slowBeat(300, 2_700), 'slow-beat', LEASE, held, { lost });
    hb.start();
    const stolen: string[] = [];
    for (const until = Date.now() + 13_000; Date.now() < until; await sleep(200)) {
      stolen.push(...(await store.claim('thief', 1, LEASE)).map((j) => j.id));
    }
    hb.stop();
    assert.deepEqual(stolen, [], 'the lease never lapsed, so nobody else could claim the job');
    assert.deepEqual(lost, []);
    assert.equal((await store.getJob(job.id))!.status, 'running');
  });

  test('a job settled while a beat is in flight is not reported lost; one taken over is', async () => {
    const [done, settling, taken] = await store.enqueue([1, 2, 3].map(() => ({ kind: 'noop', payload: { ms: 1 } })));
    const jobs = await store.claim('mid-beat', 3, 30);
    assert.equal(jobs.length, 3);
    const attempt = (id: string) => jobs.find((j) => j.id === id)!.attempts;
    const held = new Map(jobs.map((j) => [j.id, Date.now() - 1]));
    const settlingIds = new Set<string>();
    const lost: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    let sent!: () => void;
    const beatSent = new Promise<void>((r) => { sent = r; });
    const hb = heartbeat(slowBeat(() => { sent(); return gate; }), 'mid-beat', 30, held, { settling: settlingIds, lost });
    const beat = hb.beat();
    await beatSent;
    // While the beat is on its way: one job completes and is settled (no longer held), one
    // completes but its answer is not back yet (still held, settling), one is taken over.
    assert.deepEqual(await store.complete('mid-beat', [{ id: done.id, attempt: attempt(done.id) }]), [done.id]);
    held.delete(done.id);
    assert.deepEqual(await store.complete('mid-beat', [{ id: settling.id, attempt: attempt(settling.id) }]), [settling.id]);
    settlingIds.add(settling.id);
    await db.sql`update public.jobs set lease_owner = 'other' where id = ${taken.id}`;
    open();
    await beat;
    hb.stop();
    assert.deepEqual(lost, [taken.id]);
  });
});
