// Delivery error handling: the worker's deliver-card job against Telegram failures, for
// both stages (the variants: album + 1/2/3 message; the set: album + zip).
// 429 → retried after retry_after; 500 → retried with backoff, parts already sent are
// not sent again; 403 → order undeliverable, no retry; 400 → job dead with the error.
// A Telegram failure never re-renders.
import assert from 'node:assert/strict';
import { after as afterAll, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { samplePhoto } from '../src/cards/sample.ts';
import { postgresOrderStore } from './support/stores.ts';
import type { OrderStore } from '../src/db/orders.ts';
import type { RunningApp } from '../src/main.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { startFakeTelegram, type FakeTelegram } from './support/fake-telegram.ts';
import { TOKEN, startBotApp } from './support/bot.ts';

describe('deliver-card against Telegram errors', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  let app: RunningApp;
  let orders: OrderStore;
  let photo: Buffer;
  let nextUser = 7000;

  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
    // every 429 goes back to the queue (no in-process wait), to see the job-level retry
    app = await startBotApp(db.url, tg, { TELEGRAM_THROTTLE: 'false', TELEGRAM_INLINE_RETRY_MAX_S: '0' }, { bot: false });
    orders = postgresOrderStore(db.sql);
    photo = await samplePhoto(600, 600);
  });
  afterAll(async () => {
    await app?.stop();
    await tg?.close();
    await db?.drop();
  });

  /** An order as the bot would create it (photo uploaded by the user, ack recorded). */
  async function placeOrder() {
    const u = tg.user(++nextUser, { started: true });
    const m = u.sendPhoto(photo);
    const r = await orders.confirm({
      key: `t:${u.id}`, userId: u.id, chatId: u.id, lang: 'en', photoFileId: m.photo!.at(-1)!.file_id,
      title: 'Test mug', features: ['One', 'Two'], price: '100', template: 'clean', maxOpen: 5, dailyQuota: 50,
    });
    assert.equal(r.result, 'created');
    const id = (r as { order: { id: number } }).order.id;
    await orders.setAck(id, 1);
    return { u, id };
  }
  async function settled(id: number, stage: 'variants' | 'set' = 'variants') {
    for (const until = Date.now() + 30_000; Date.now() < until; await sleep(50)) {
      const [o] = await db.sql`select o.*, d.status as djob, d.attempts as dattempts, d.last_error as derror, r.attempts as rattempts
        from public.orders o join public.jobs r on r.id = o.render_job_id
        left join public.jobs d on d.id = (case when ${stage} = 'set' then o.set_deliver_job_id else o.deliver_job_id end) where o.id = ${id}`;
      if (o && ['succeeded', 'dead'].includes(o.djob)) return o;
    }
    throw new Error(`order ${id}: delivery did not settle`);
  }
  const sends = (method: string, chat: number) => tg.calls.filter((c) => c.method === method && c.chatId === chat);

  test('429 with retry_after on the variants\' album: the job is rescheduled after retry_after and delivers once', async () => {
    tg.failNext('sendMediaGroup', { code: 429, retryAfter: 1 });
    const { u, id } = await placeOrder();
    const o = await settled(id);
    assert.equal(o.status, 'awaiting_choice');
    assert.equal(o.djob, 'succeeded');
    assert.equal(o.dattempts, 2);
    assert.equal(o.rattempts, 1, 'not re-rendered');
    const calls = sends('sendMediaGroup', u.id);
    assert.deepEqual(calls.map((c) => c.status), [429, 200]);
    assert.ok(calls[1].time - calls[0].time >= 950, `waited retry_after (${calls[1].time - calls[0].time} ms)`);
    assert.equal(u.messages().filter((m) => m.method === 'sendMediaGroup').length, 3, 'one album of 3');
    assert.equal(u.messages().filter((m) => (m.reply_markup?.inline_keyboard ?? []).flat().some((b: { callback_data?: string }) => b.callback_data?.startsWith('pick:'))).length, 1);
  });

  test('500 on the 1/2/3 message: retried with backoff; the album already sent is not sent again', async () => {
    tg.failNext('sendMessage', { code: 500 });
    const { u, id } = await placeOrder();
    const o = await settled(id);
    assert.equal(o.status, 'awaiting_choice');
    assert.equal(o.dattempts, 2);
    assert.equal(o.rattempts, 1, 'not re-rendered');
    assert.deepEqual(sends('sendMediaGroup', u.id).map((c) => c.status), [200]);
    assert.deepEqual(sends('sendMessage', u.id).map((c) => c.status), [500, 200]);
    const [{ n }] = await db.sql`select count(*)::int as n from public.order_deliveries where order_id = ${id} and committed_at is not null`;
    assert.equal(n, 2);
  });

  test('the set: 500 on the zip is retried; the slides\' album is not sent again; one zip', async () => {
    const { u, id } = await placeOrder();
    await settled(id);
    tg.failNext('sendDocument', { code: 500 });
    assert.equal((await orders.choose(id, u.id, 2))?.result, 'ok');
    const o = await settled(id, 'set');
    assert.equal(o.status, 'sent');
    assert.equal(o.dattempts, 2);
    assert.deepEqual(sends('sendMediaGroup', u.id).map((c) => c.status), [200, 200], 'variants\' album, then the set\'s');
    assert.deepEqual(sends('sendDocument', u.id).map((c) => c.status), [500, 200]);
    assert.equal(u.messages().filter((m) => m.kind === 'document').length, 1);
    const parts = await db.sql`select part from public.order_deliveries where order_id = ${id} and committed_at is not null order by id`;
    assert.deepEqual(parts.map((p) => p.part), ['variants', 'choice', 'slides', 'zip']);
  });

  test('403 (bot blocked): order undeliverable, job dead after one attempt', async () => {
    const { u, id } = await (async () => { tg.failNext('sendMediaGroup', { code: 403 }); return placeOrder(); })();
    const o = await settled(id);
    assert.equal(o.status, 'undeliverable');
    assert.equal(o.djob, 'dead');
    assert.equal(o.dattempts, 1);
    assert.match(o.derror, /403/);
    assert.equal(sends('sendMediaGroup', u.id).length, 1);
  });

  test('400: the delivery ends dead with the error, the order failed', async () => {
    tg.failNext('sendMediaGroup', { code: 400, description: 'Bad Request: chat not found' });
    const { id } = await placeOrder();
    const o = await settled(id);
    assert.equal(o.status, 'failed');
    assert.equal(o.djob, 'dead');
    assert.equal(o.dattempts, 1);
    assert.match(o.derror, /chat not found/);
    assert.match(o.error, /chat not found/);
  });

  test('a canceled order that finishes its variants is not delivered', async () => {
    const u = tg.user(++nextUser, { started: true });
    const m = u.sendPhoto(photo);
    const r = await orders.confirm({
      key: `t:${u.id}`, userId: u.id, chatId: u.id, lang: 'en', photoFileId: m.photo!.at(-1)!.file_id,
      title: 'Canceled', features: [], template: 'promo', maxOpen: 5, dailyQuota: 50,
    });
    const id = (r as { order: { id: number } }).order.id;
    // as if the render job had started, then the user canceled
    await orders.startRender(id);
    await orders.cancel(id, u.id);
    const after = await orders.variantsDone(id, [1, 2, 3].map((n) => ({ n, jpeg: photo, width: 900, height: 1200 })), 10);
    assert.equal(after!.status, 'canceled');
    assert.equal(after!.deliver_job_id, null);
    const [{ n }] = await db.sql`select count(*)::int as n from public.order_images where order_id = ${id}`;
    assert.equal(n, 0, 'nothing recorded for a canceled order');
  });
});
