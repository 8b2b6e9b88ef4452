// The OrderStore over both transports (direct postgres.js and supabase-js through the
// PostgREST-compatible shim): the same SQL functions, the same answers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { postgresRpc } from '../src/db/rpc/postgres.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { restRpc, storesOver } from './support/stores.ts';

type Stores = ReturnType<typeof storesOver>;
const adapters: { name: string; open(db: TestDb): Promise<Stores & { close(): Promise<void> }> }[] = [
  { name: 'direct', async open(db) { return { ...storesOver(postgresRpc(db.sql)), close: async () => {} }; } },
  {
    name: 'rpc',
    async open(db) {
      const { startPostgrest } = await import('./support/postgrest.ts');
      const rest = await startPostgrest({ databaseUrl: db.url });
      return { ...storesOver(restRpc({ url: rest.url, serviceRoleKey: rest.serviceRoleKey })), close: () => rest.close() };
    },
  },
];

for (const adapter of adapters) {
  describe(`OrderStore: ${adapter.name}`, () => {
    let db: TestDb;
    let orders: Stores['orders'];
    let sessions: Stores['sessions'];
    let limits: Stores['limits'];
    let close: () => Promise<void>;
    before(async () => { db = await createTestDb(); ({ orders, sessions, limits, close } = await adapter.open(db)); });
    after(async () => { await close(); await db.drop(); });

    test('confirm is idempotent by key, enqueues one render job, and counts limits', async () => {
      const base = { userId: 11, chatId: 11, lang: 'ru' as const, photoFileId: 'F', title: 'Т', features: ['а', 'б'], price: '100', template: 'clean', maxOpen: 2, dailyQuota: 3 };
      const a = await orders.confirm({ ...base, key: 'k1' });
      const b = await orders.confirm({ ...base, key: 'k1' });
      assert.equal(a.result, 'created');
      assert.equal(b.result, 'exists');
      assert.ok(a.result === 'created' && b.result === 'exists' && a.order.id === b.order.id);
      assert.deepEqual(a.result === 'created' && a.order.features, ['а', 'б']);
      assert.equal(a.result === 'created' && a.queue?.position, 1);
      assert.equal((await orders.confirm({ ...base, key: 'k2' })).result, 'created');
      assert.equal((await orders.confirm({ ...base, key: 'k3' })).result, 'limit_open');
      assert.equal((await orders.confirm({ ...base, key: 'stale', photoFileId: null, title: null })).result, 'missing');
      const [{ n }] = await db.sql`select count(*)::int as n from public.jobs where kind = 'render-card'`;
      assert.equal(n, 2);
      const open = await orders.list(11, 'open');
      assert.deepEqual(open.map((o) => o.queue?.position).sort(), [1, 2]);
    });

    test('each stage is recorded once and enqueues one next step; the pick is idempotent; pictures round-trip', async () => {
      const r = await orders.confirm({ key: 'r1', userId: 12, chatId: 12, lang: 'en', photoFileId: 'F', title: 'T', features: [], template: 'bold', marketplace: 'ozon', maxOpen: 5, dailyQuota: 5 });
      assert.equal(r.result, 'created');
      const id = r.result === 'created' ? r.order.id : 0;
      assert.equal(r.result === 'created' && r.order.marketplace, 'ozon');
      const jpeg = (k: number) => Buffer.from([0xff, 0xd8, 0xff, k, 2, 3, 0, 255]);
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 9]);
      assert.equal((await orders.startRender(id))!.cut, false);
      assert.deepEqual(await orders.cutoutDone(id, png, null, 5), { recorded: true });
      assert.deepEqual(await orders.cutoutDone(id, Buffer.from([1]), 'cluttered', 5), { recorded: false }, 'a second cut-out changes nothing');
      const started = await orders.startRender(id);
      assert.deepEqual([started!.cut, started!.framed_reason, Buffer.from(started!.cutout_b64!, 'base64')], [true, null, png]);
      assert.equal((await orders.choose(id, 12, 1))!.result, 'not_ready');
      const variants = [1, 2, 3].map((n) => ({ n, jpeg: jpeg(n), width: 900, height: 1200 }));
      const first = await orders.variantsDone(id, variants, 42);
      const again = await orders.variantsDone(id, variants.map((v) => ({ ...v, jpeg: jpeg(9) })), 1);
      assert.equal(first!.status, 'awaiting_choice');
      assert.equal(again!.deliver_job_id, first!.deliver_job_id);
      assert.deepEqual((await orders.images(id, 'variants')).map((v) => v.jpeg), variants.map((v) => v.jpeg));
      assert.equal((await orders.startRender(id))!.variants_done, true);

      assert.equal(await orders.choose(id, 99, 1), null, 'someone else\'s order');
      const pick = await orders.choose(id, 12, 2);
      assert.deepEqual([pick!.result, pick!.choice, pick!.order.status], ['ok', 2, 'rendering']);
      const same = await orders.choose(id, 12, 2);
      assert.deepEqual([same!.result, same!.order.set_job_id], ['ok', pick!.order.set_job_id]);
      assert.deepEqual([(await orders.choose(id, 12, 3))!.result, (await orders.choose(id, 12, 3))!.choice], ['conflict', 2]);
      const input = await orders.setInput(id);
      assert.deepEqual([input!.set_done, Buffer.from(input!.variant_b64!, 'base64'), Buffer.from(input!.cutout_b64!, 'base64')], [false, jpeg(2), png]);
      const slides = [{ role: 'main', jpeg: jpeg(2), width: 900, height: 1200 }, { role: 'infographic', jpeg: jpeg(5), width: 900, height: 1200 }];
      const set = await orders.setDone(id, slides, 7);
      assert.equal(set!.status, 'rendered');
      assert.equal((await orders.setDone(id, [], 1))!.set_deliver_job_id, set!.set_deliver_job_id, 'one set delivery');
      assert.deepEqual((await orders.images(id, 'set')).map((s) => [s.role, s.n, s.jpeg]), [['main', 1, jpeg(2)], ['infographic', 2, jpeg(5)]]);

      const deliverJob = String(set!.set_deliver_job_id);
      await db.sql`update public.jobs set status = 'running', lease_owner = 'w', attempts = 1, lease_expires_at = now() + interval '1 minute' where id = ${deliverJob}`;
      assert.ok(!(await orders.deliveryBegin(id, 'slides', 1, 'w', deliverJob))!.fenced);
      const done = await orders.deliveryDone(id, 'slides', 77, 'PHOTO', new Date());
      assert.equal(done!.photo_message_id, 77);
      await orders.deliveryBegin(id, 'zip', 1, 'w', deliverJob);
      assert.equal((await orders.deliveryDone(id, 'zip', 78, 'DOC', new Date()))!.status, 'sent');
      assert.equal((await orders.list(12, 'history'))[0].document_file_id, 'DOC');
    });

    test('a delivery begins only for the attempt that holds the deliver job\'s lease', async () => {
      const r = await orders.confirm({ key: 'f1', userId: 13, chatId: 13, lang: 'en', photoFileId: 'F', title: 'T', features: [], template: 'bold', maxOpen: 5, dailyQuota: 5 });
      const id = r.result === 'created' ? r.order.id : 0;
      await orders.startRender(id);
      const job = String((await orders.variantsDone(id, [1, 2, 3].map((n) => ({ n, jpeg: Buffer.from([0xff, 0xd8, n]), width: 1, height: 1 })), 1))!.deliver_job_id);
      const lease = (owner: string | null, attempts: number, status = 'running') =>
        db.sql`update public.jobs set status = ${status}::public.job_status, lease_owner = ${owner}, attempts = ${attempts} where id = ${job}`;
      const rows = async () => (await db.sql`select count(*)::int as n from public.order_deliveries where order_id = ${id}`)[0].n as number;

      await lease('w1', 2);
      assert.equal((await orders.deliveryBegin(id, 'variants', 2, 'w2', job))!.fenced, true, 'another worker');
      assert.equal((await orders.deliveryBegin(id, 'variants', 1, 'w1', job))!.fenced, true, 'an earlier attempt');
      assert.equal(await rows(), 0, 'a fenced attempt logs no send');
      const ok = await orders.deliveryBegin(id, 'variants', 2, 'w1', job);
      assert.equal(ok!.fenced, undefined);
      assert.equal(ok!.id, id);
      assert.equal(await rows(), 1);
      await lease(null, 2, 'queued'); // handed back at shutdown
      assert.equal((await orders.deliveryBegin(id, 'choice', 2, 'w1', job))!.fenced, true, 'a released job');
      assert.equal(await rows(), 1);
    });

    test('sessions, update dedupe, leader lease, rate limiter', async () => {
      assert.equal(await sessions.sessionGet(5), null);
      await sessions.sessionPut(5, { step: 'title', draft: { photoFileId: 'x' } });
      assert.deepEqual(await sessions.sessionGet(5), { step: 'title', draft: { photoFileId: 'x' } });
      assert.equal(await sessions.claimUpdate(100), true);
      assert.equal(await sessions.claimUpdate(100), false);
      await sessions.releaseUpdate(100);
      assert.equal(await sessions.claimUpdate(100), true);
      assert.equal(await sessions.leaderTry('poll', 'a', 5), true);
      assert.equal(await sessions.leaderTry('poll', 'b', 5), false);
      await sessions.leaderRelease('poll', 'a');
      assert.equal(await sessions.leaderTry('poll', 'b', 5), true);
      await limits.rateSet('test', 60, 3);
      const takes = [];
      for (let i = 0; i < 4; i++) takes.push(await limits.rateTake('test'));
      assert.deepEqual(takes.map((t) => t.ok), [true, true, true, false]);
      assert.ok(takes[3].retry_in_ms! > 0 && takes[3].retry_in_ms! <= 60_000);
      assert.equal((await limits.rateTake('ai')).ok, true, 'seeded AI limits (100/min, 5000/h, 100000/day)');
    });
  });
}
