// A delivery send that outlives its lease (the chaos run's duplicate album): two app
// instances on one database and the fake Telegram, whose sendMediaGroup is made slow.
// The instance running the delivery has its heartbeat held up (the test locks its row in
// `workers`, which heartbeat() writes first), so its 2 s lease lapses mid-send and the
// other instance takes the job over. Each instance runs one job at a time, so the one
// whose lease lapsed cannot take its own job back.
import assert from 'node:assert/strict';
import { after as afterAll, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { samplePhoto } from '../src/cards/sample.ts';
import type { OrderStore } from '../src/db/orders.ts';
import type { RunningApp } from '../src/main.ts';
import { TOKEN, startBotApp } from './support/bot.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { startFakeTelegram, type FakeTelegram } from './support/fake-telegram.ts';
import { postgresOrderStore } from './support/stores.ts';
import { waitFor } from './support/wait.ts';

const DEADLINE_MS = 6_000; // a send is aborted after this; its row's deadline is 1.5× that

describe('a delivery send that outlives its lease', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  const apps: RunningApp[] = [];
  let orders: OrderStore;
  let photo: Buffer;
  let nextUser = 8000;

  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
    for (const id of ['fence-a', 'fence-b']) {
      apps.push(await startBotApp(db.url, tg, {
        INSTANCE_ID: id, LEASE_SECONDS: '2', JOB_CONCURRENCY: '1', TELEGRAM_THROTTLE: 'false',
        TELEGRAM_INLINE_RETRY_MAX_S: '0', TELEGRAM_SEND_DEADLINE_MS: String(DEADLINE_MS), MAINTENANCE_EVERY_S: '0',
      }, { bot: false }));
    }
    orders = postgresOrderStore(db.sql);
    photo = await samplePhoto(600, 600);
  });
  afterAll(async () => {
    for (const a of apps) await a.stop();
    await tg?.close();
    await db?.drop();
  });

  /** An order as the bot would create it; its variants' album will take `slowMs` to send. */
  async function placeOrder(slowMs: number) {
    const u = tg.user(++nextUser, { started: true });
    const m = u.sendPhoto(photo);
    tg.slowNext('sendMediaGroup', slowMs);
    const r = await orders.confirm({
      key: `t:${u.id}`, userId: u.id, chatId: u.id, lang: 'en', photoFileId: m.photo!.at(-1)!.file_id,
      title: 'Test mug', features: ['One', 'Two'], price: '100', template: 'clean', maxOpen: 5, dailyQuota: 50,
    });
    const id = (r as { order: { id: number } }).order.id;
    await orders.setAck(id, 1);
    return { u, id };
  }
  const albums = (chat: number) => tg.calls.filter((c) => c.method === 'sendMediaGroup' && c.chatId === chat);

  /** Holds up the heartbeat of whoever is sending the slow album until the other instance owns the job. */
  async function lapseLeaseMidSend(chat: number, orderId: number) {
    await waitFor(async () => albums(chat).some((c) => c.status === 0) || null, 60_000, 'the slow album to start');
    const [{ deliver_job_id: jobId }] = await db.sql`select deliver_job_id from public.orders where id = ${orderId}`;
    const [{ lease_owner: sender }] = await db.sql`select lease_owner from public.jobs where id = ${jobId}`;
    await db.sql.begin(async (tx) => {
      await tx`select 1 from public.workers where id = ${sender} for update`;
      await waitFor(async () => {
        const [j] = await db.sql`select lease_owner from public.jobs where id = ${jobId} and status = 'running'`;
        return j && j.lease_owner !== sender ? true : null;
      }, 20_000, 'the other instance to take the job over');
    });
    return { jobId: String(jobId), sender: String(sender) };
  }
  async function delivered(id: number) {
    return waitFor(async () => {
      const [o] = await db.sql`select o.status, j.status as djob, j.attempts from public.orders o
                               join public.jobs j on j.id = o.deliver_job_id where o.id = ${id}`;
      return o && ['succeeded', 'dead'].includes(o.djob) ? o : null;
    }, 60_000, `order ${id} delivered`);
  }
  const deliveries = (id: number) => db.sql`select attempt, worker, started_at, deadline_at, committed_at
                                            from public.order_deliveries where order_id = ${id} and part = 'variants' order by id`;

  test('the attempt that takes the job over does not send the album again while the first may still be sending it', async () => {
    const { u, id } = await placeOrder(5_000);
    const { sender } = await lapseLeaseMidSend(u.id, id);
    const o = await delivered(id);
    assert.equal(o.djob, 'succeeded');
    assert.equal(o.status, 'awaiting_choice');
    assert.deepEqual(albums(u.id).map((c) => c.status), [200], 'one album, sent by the attempt whose lease lapsed');
    const rows = await deliveries(id);
    assert.equal(rows.length, 1, 'the taker-over never began the album');
    assert.equal(rows[0].worker, sender);
    assert.ok(rows[0].committed_at, 'the lapsed attempt still recorded what it sent');
    // attempt 1 sent; attempt 2 (the taker-over) waited for attempt 1's deadline; a later one sent the buttons
    assert.ok(o.attempts >= 3, `the taker-over was told to wait (attempts ${o.attempts})`);
    assert.equal(u.messages().filter((m) => m.method === 'sendMediaGroup').length, 3, 'one album of 3');
  });

  test('past the deadline the part is sent by the new owner when the first attempt never recorded it', async () => {
    const { u, id } = await placeOrder(60_000); // the first send never completes: it is aborted at its deadline
    const { sender } = await lapseLeaseMidSend(u.id, id);
    const o = await delivered(id);
    assert.equal(o.djob, 'succeeded');
    const calls = albums(u.id);
    assert.deepEqual(calls.map((c) => c.status), [-1, 200], 'the first send was cut off, the second delivered');
    assert.ok(calls[0].durationMs! < DEADLINE_MS + 2_000, `the first send was aborted at its deadline (${calls[0].durationMs} ms)`);
    const rows = await deliveries(id);
    assert.equal(rows.length, 2);
    assert.equal(rows[0].worker, sender);
    assert.equal(rows[0].committed_at, null, 'the first attempt recorded nothing');
    assert.ok(rows[1].committed_at);
    assert.ok(+rows[1].started_at >= +rows[0].deadline_at, 'the second send began only after the first one\'s deadline');
    assert.ok(calls[1].time >= calls[0].time + (calls[0].durationMs ?? 0), 'the second send began after the first was cut off');
    assert.equal(u.messages().filter((m) => m.method === 'sendMediaGroup').length, 3, 'one album of 3');
  });
});
