// The Store contract, run against both adapters on real Postgres: direct (postgres.js)
// and RPC (supabase-js through the PostgREST-compatible server in support/).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { latestVersion } from '../src/db/migrate.ts';
import { PostgresStore } from '../src/db/postgres.ts';
import type { Store } from '../src/db/store.ts';
import { SupabaseStore } from '../src/db/supabase.ts';
import { createTestDb, type TestDb } from './support/db.ts';

const adapters: { name: string; open(db: TestDb): Promise<{ store: Store; close(): Promise<void> }> }[] = [
  {
    name: 'direct (postgres.js)',
    async open(db) {
      const store = new PostgresStore({ url: db.url, poolSize: 4, prepare: true });
      return { store, close: () => store.close() };
    },
  },
  {
    name: 'rpc (supabase-js via PostgREST shim)',
    async open(db) {
      const { startPostgrest } = await import('./support/postgrest.ts');
      const rest = await startPostgrest({ databaseUrl: db.url });
      const store = new SupabaseStore({ url: rest.url, serviceRoleKey: rest.serviceRoleKey });
      return { store, close: async () => { await store.close(); await rest.close(); } };
    },
  },
];

// STORE_ADAPTER=direct|rpc narrows the run while working on one adapter.
for (const adapter of adapters.filter((a) => !process.env.STORE_ADAPTER || a.name.startsWith(process.env.STORE_ADAPTER))) {
  describe(`Store contract: ${adapter.name}`, () => {
    let db: TestDb;
    let store: Store;
    let close: () => Promise<void>;

    before(async () => {
      db = await createTestDb();
      ({ store, close } = await adapter.open(db));
    });
    after(async () => {
      await close();
      await db.drop();
    });
    // Each test starts from an empty queue.
    const reset = () => db.sql`truncate public.jobs, public.workers, public.fair_clock, public.job_stats cascade`;

    test('schema version is the newest migration', async () => {
      assert.equal(await store.schemaVersion(), latestVersion());
    });

    test('enqueue returns the job; an existing idempotency key returns the same job', async () => {
      await reset();
      const [a] = await store.enqueue([{ kind: 'noop', payload: { ms: 1 }, idempotencyKey: 'order-1' }]);
      assert.equal(a.kind, 'noop');
      assert.equal(a.status, 'queued');
      assert.deepEqual(a.payload, { ms: 1 });
      assert.match(a.id, /^\d+$/);
      const [b] = await store.enqueue([{ kind: 'noop', payload: { ms: 2 }, idempotencyKey: 'order-1' }]);
      assert.equal(b.id, a.id);
      assert.deepEqual(b.payload, { ms: 1 }, 'the first enqueue wins');
      const [{ n }] = await db.sql`select count(*)::int as n from public.jobs`;
      assert.equal(n, 1);
    });

    test('concurrent enqueues with one idempotency key create one job', async () => {
      await reset();
      const results = await Promise.all(Array.from({ length: 12 }, () =>
        store.enqueue([{ kind: 'noop', idempotencyKey: 'same-update-42' }])));
      const ids = new Set(results.map((r) => r[0].id));
      assert.equal(ids.size, 1);
      const [{ n }] = await db.sql`select count(*)::int as n from public.jobs`;
      assert.equal(n, 1);
    });

    test('claim takes at most the limit, marks running with a lease, counts the attempt', async () => {
      await reset();
      await store.enqueue(Array.from({ length: 5 }, () => ({ kind: 'noop' })));
      const got = await store.claim('w1', 3, 30);
      assert.equal(got.length, 3);
      for (const j of got) {
        assert.equal(j.status, 'running');
        assert.equal(j.leaseOwner, 'w1');
        assert.equal(j.attempts, 1);
        assert.ok(j.leaseExpiresAt && j.leaseExpiresAt.getTime() > Date.now() + 25_000);
      }
      const rest = await store.claim('w2', 10, 30);
      assert.equal(rest.length, 2);
      assert.equal((await store.claim('w3', 10, 30)).length, 0);
    });

    test('priority first, then users interleave (fair order)', async () => {
      await reset();
      // User A queues a batch of 20, then user B one order, then an urgent job arrives.
      await store.enqueue(Array.from({ length: 20 }, (_, i) => ({ kind: 'noop', fairKey: 'user-a', payload: { ms: i } })));
      const [b] = await store.enqueue([{ kind: 'noop', fairKey: 'user-b' }]);
      const [urgent] = await store.enqueue([{ kind: 'noop', priority: -5 }]);
      const order: string[] = [];
      for (let i = 0; i < 22; i++) order.push(...(await store.claim('w', 1, 30)).map((j) => j.id));
      assert.equal(order[0], urgent.id, 'priority -5 runs first');
      const posB = order.indexOf(b.id);
      assert.ok(posB >= 1 && posB <= 2, `user B's order should not wait behind A's batch (position ${posB})`);
      assert.equal(order.length, 22);
    });

    test('complete is fenced by owner and attempt', async () => {
      await reset();
      await store.enqueue([{ kind: 'noop' }, { kind: 'noop' }]);
      const [j1, j2] = await store.claim('w1', 2, 30);
      assert.deepEqual(await store.complete('intruder', [{ id: j1.id, attempt: 1 }]), []);
      assert.deepEqual(await store.complete('w1', [{ id: j1.id, attempt: 2 }]), []);
      const done = await store.complete('w1', [{ id: j1.id, attempt: 1, result: { fileId: 'x' } }, { id: j2.id, attempt: 1 }]);
      assert.deepEqual(done.sort(), [j1.id, j2.id].sort());
      const row = await store.getJob(j1.id);
      assert.equal(row?.status, 'succeeded');
      assert.deepEqual(row?.result, { fileId: 'x' });
      assert.ok(row?.finishedAt);
      assert.deepEqual(await store.complete('w1', [{ id: j1.id, attempt: 1 }]), [], 'completing twice does nothing');
    });

    test('an expired lease is claimable by another worker; the old owner is fenced out', async () => {
      await reset();
      await store.enqueue([{ kind: 'noop' }]);
      const [j] = await store.claim('dead-worker', 1, 1);
      await db.sql`update public.jobs set lease_expires_at = now() - interval '1 second' where id = ${j.id}`;
      const [again] = await store.claim('w2', 5, 30);
      assert.equal(again.id, j.id);
      assert.equal(again.attempts, 2);
      assert.equal(again.leaseOwner, 'w2');
      assert.match(again.lastError ?? '', /lease expired/);
      assert.deepEqual(await store.heartbeat({ workerId: 'dead-worker', concurrency: 1, inFlight: 1, leaseSeconds: 30, ids: [j.id] }), { owned: [], canceled: [] });
      assert.deepEqual(await store.complete('dead-worker', [{ id: j.id, attempt: 1 }]), []);
      assert.equal(await store.fail('dead-worker', { id: j.id, attempt: 1, error: 'x', retryInMs: 0 }), null);
      assert.deepEqual(await store.complete('w2', [{ id: j.id, attempt: 2 }]), [j.id]);
    });

    test('a database restart does not count against leases: none is taken over until the database has been up for a lease', async () => {
      await reset();
      await store.enqueue([{ kind: 'noop' }]);
      const [j] = await store.claim('cut-off', 1, 30);
      await db.sql`update public.jobs set lease_expires_at = now() - interval '1 second' where id = ${j.id}`;
      // A lease longer than the server's uptime stands for "the database just restarted".
      const [{ up }] = await db.sql`select ceil(extract(epoch from now() - pg_postmaster_start_time()))::int as up`;
      assert.deepEqual(await store.claim('w2', 5, up + 3600), [], 'the holder may not have reconnected yet');
      assert.deepEqual(await store.heartbeat({ workerId: 'cut-off', concurrency: 1, inFlight: 1, leaseSeconds: 30, ids: [j.id] }), { owned: [j.id], canceled: [] },
        'the holder renews when it is back');
      await db.sql`update public.jobs set lease_expires_at = now() - interval '1 second' where id = ${j.id}`;
      const [taken] = await store.claim('w2', 5, 1);
      assert.equal(taken.id, j.id, 'a lease that expires with the database up is taken over');
    });

    test('a lease that expires on the last attempt ends in dead with the reason', async () => {
      await reset();
      const [j] = await store.enqueue([{ kind: 'noop', maxAttempts: 1 }]);
      await store.claim('crashy', 1, 30);
      await db.sql`update public.jobs set lease_expires_at = now() - interval '1 second' where id = ${j.id}`;
      assert.deepEqual(await store.claim('w2', 5, 30), []);
      const row = await store.getJob(j.id);
      assert.equal(row?.status, 'dead');
      assert.match(row?.lastError ?? '', /lease expired.*last attempt/);
    });

    test('fail: retry later, permanent, and dead after the last attempt, error kept', async () => {
      await reset();
      const [a, b] = await store.enqueue([{ kind: 'noop', maxAttempts: 2 }, { kind: 'noop' }]);
      await store.claim('w', 2, 30);
      const r1 = await store.fail('w', { id: a.id, attempt: 1, error: 'boom 1', retryInMs: 60_000 });
      assert.equal(r1?.status, 'queued');
      assert.ok(r1!.runAt.getTime() > Date.now() + 50_000);
      assert.deepEqual(await store.claim('w', 5, 30), [], 'not due yet');
      const r2 = await store.fail('w', { id: b.id, attempt: 1, error: 'bad photo', retryInMs: null });
      assert.equal(r2?.status, 'dead');
      await db.sql`update public.jobs set run_at = now() where id = ${a.id}`;
      const [again] = await store.claim('w', 5, 30);
      assert.equal(again.attempts, 2);
      assert.equal(again.lastError, 'boom 1');
      const r3 = await store.fail('w', { id: a.id, attempt: 2, error: 'boom 2', retryInMs: 1000 });
      assert.equal(r3?.status, 'dead', 'no attempts left');
      assert.equal((await store.getJob(a.id))?.lastError, 'boom 2');
      const s = await store.stats();
      assert.equal(s.dead, 2);
      assert.equal(s.last24h.failed, 2);
    });

    test('release hands jobs back without spending an attempt', async () => {
      await reset();
      await store.enqueue([{ kind: 'noop' }, { kind: 'noop' }]);
      const got = await store.claim('w', 2, 30);
      assert.equal(await store.release('other', got.map((j) => j.id)), 0, 'fenced by owner');
      assert.equal(await store.release('w', got.map((j) => j.id)), 2);
      const again = await store.claim('w2', 2, 30);
      assert.deepEqual(again.map((j) => j.attempts), [1, 1]);
    });

    test('heartbeat extends the named leases and registers the worker; leave deregisters', async () => {
      await reset();
      await store.enqueue([{ kind: 'noop' }, { kind: 'noop' }]);
      const [j1, j2] = await store.claim('w', 2, 2);
      const owned = await store.heartbeat({ workerId: 'w', concurrency: 8, inFlight: 1, leaseSeconds: 60, ids: [j1.id] });
      assert.deepEqual(owned, { owned: [j1.id], canceled: [] });
      const [row1, row2] = [await store.getJob(j1.id), await store.getJob(j2.id)];
      assert.ok(row1!.leaseExpiresAt!.getTime() > Date.now() + 50_000, 'named lease extended');
      assert.ok(row2!.leaseExpiresAt!.getTime() < Date.now() + 5_000, 'unnamed lease left to expire');
      let s = await store.stats();
      assert.equal(s.instances.length, 1);
      assert.deepEqual({ id: s.instances[0].id, concurrency: s.instances[0].concurrency, inFlight: s.instances[0].inFlight },
        { id: 'w', concurrency: 8, inFlight: 1 });
      await store.leave('w');
      s = await store.stats();
      assert.equal(s.instances.length, 0);
    });

    test('stats counts by state, oldest age and 24 h durations', async () => {
      await reset();
      await store.enqueue([{ kind: 'noop' }, { kind: 'noop' }, { kind: 'noop' }, { kind: 'noop', runAt: new Date(Date.now() + 3_600_000) }]);
      await db.sql`update public.jobs set run_at = now() - interval '90 seconds' where run_at <= now()`;
      const [a] = await store.claim('w', 1, 30);
      await sleep(20);
      await store.complete('w', [{ id: a.id, attempt: 1 }]);
      await store.claim('w', 1, 30);
      const s = await store.stats();
      assert.equal(s.queued, 1);
      assert.equal(s.running, 1);
      assert.equal(s.scheduled, 1);
      assert.equal(s.dead, 0);
      assert.ok(s.oldestQueuedSeconds >= 89 && s.oldestQueuedSeconds < 200, `oldest ${s.oldestQueuedSeconds}`);
      assert.equal(s.last24h.succeeded, 1);
      assert.ok(s.last24h.avgSeconds! >= 0.015, `avg ${s.last24h.avgSeconds}`);
      assert.ok(s.last24h.p95Seconds! >= s.last24h.avgSeconds!, 'p95 is the bucket upper edge');
    });

    test('operator actions: retry, requeue dead by kind, cancel, prune', async () => {
      await reset();
      const jobs = await store.enqueue([{ kind: 'noop' }, { kind: 'render' }, { kind: 'render' }, { kind: 'noop' }]);
      const claimed = await store.claim('w', 3, 30);
      for (const j of claimed) await store.fail('w', { id: j.id, attempt: 1, error: 'x', retryInMs: null });
      const [first] = claimed;
      const retried = await store.retryJob(first.id);
      assert.equal(retried?.status, 'queued');
      assert.equal(retried?.attempts, 0);
      assert.equal(await store.retryJob(jobs[3].id), null, 'a queued job is not "retried"');
      assert.equal(await store.requeueDead('render'), claimed.filter((j) => j.kind === 'render' && j.id !== first.id).length);
      const canceled = await store.cancelJob(jobs[3].id);
      assert.equal(canceled?.status, 'canceled');
      assert.equal(await store.cancelJob(jobs[3].id), null);
      await db.sql`update public.jobs set finished_at = now() - interval '8 days' where status = 'canceled'`;
      assert.equal(await store.prune(), 1);
    });
  });
}
