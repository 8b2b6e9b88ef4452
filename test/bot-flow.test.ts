// Bot → worker hand-off (issue 14, item 6): a Telegram photo is downloaded once per
// order (the bot keeps what it checked at upload; the render job reads that), and the
// delivery is due only once the bot has recorded its "queued" answer: no job waits in
// a loop for it.
import assert from 'node:assert/strict';
import { after as afterAll, before, describe, test } from 'node:test';
import { samplePhoto } from '../src/cards/sample.ts';
import { postgresOrderStore } from './support/stores.ts';
import type { RunningApp } from '../src/main.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { startFakeTelegram, type FakeTelegram } from './support/fake-telegram.ts';
import { TOKEN, confirmAndPick, fillOrder, startBotApp } from './support/bot.ts';
import { waitFor } from './support/wait.ts';

let photo: Buffer;
before(async () => { photo = await samplePhoto(800, 800); });

describe('one download per Telegram photo', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  let app: RunningApp;
  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
    app = await startBotApp(db.url, tg, { TELEGRAM_THROTTLE: 'false' });
  });
  afterAll(async () => {
    await app?.stop();
    await tg?.close();
    await db?.drop();
  });

  test('upload check and cut-out, variants, pick, set and delivery: getFile once, the file downloaded once', async () => {
    const u = tg.user(3101, { languageCode: 'en' });
    await confirmAndPick(u, await fillOrder(u, photo), 1);
    await waitFor(async () => (await db.sql`select 1 from public.orders where user_id = 3101 and status = 'sent'`).length, 10_000, 'the order sent');
    const getFiles = () => tg.calls.filter((c) => c.method === 'getFile' && c.status === 200).length;
    assert.equal(getFiles(), 1, 'getFile once: at upload');
    assert.deepEqual([...tg.fileDownloads.values()], [1], 'one photo, downloaded once');
    const [o] = await db.sql`select o.photo_unique_id, (p.unique_id is not null) as kept
      from public.orders o left join public.order_photos p on p.unique_id = o.photo_unique_id where o.user_id = 3101`;
    assert.ok(o.kept, 'the checked photo was kept for the render');

    // A second order of the same photo: its cut-out was kept at upload too; still no download.
    await confirmAndPick(u, await fillOrder(u, photo, { title: 'Second' }), 3);
    assert.equal(getFiles(), 2, 'getFile once per upload');
    assert.deepEqual([...tg.fileDownloads.values()], [1, 1], 'each upload downloaded once (by the bot), never by the jobs');
  });
});

describe('delivery is due when the bot has recorded its answer', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  let app: RunningApp;
  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
    app = await startBotApp(db.url, tg, { TELEGRAM_THROTTLE: 'false' }, { bot: false });
  });
  afterAll(async () => {
    await app?.stop();
    await tg?.close();
    await db?.drop();
  });

  test('variants made before the answer is recorded: their delivery waits in the queue (not in a job), then runs at once', async () => {
    const orders = postgresOrderStore(db.sql);
    const u = tg.user(3201, { started: true });
    const m = u.sendPhoto(photo);
    const r = await orders.confirm({
      key: 't:3201', userId: u.id, chatId: u.id, lang: 'en', photoFileId: m.photo!.at(-1)!.file_id,
      title: 'Late answer', features: ['One'], price: '100', template: 'clean', maxOpen: 5, dailyQuota: 50,
    });
    assert.equal(r.result, 'created');
    const id = (r as { order: { id: number } }).order.id;
    const jobOf = async () => (await db.sql`select o.created_at, o.status as ostatus, d.status, d.attempts, d.run_at
      from public.orders o join public.jobs d on d.id = o.deliver_job_id where o.id = ${id}`)[0];
    const waiting = await waitFor(jobOf, 20_000, 'the render to enqueue the delivery');
    assert.equal(waiting.ostatus, 'awaiting_choice');
    // No attempt has started: nothing is holding a worker slot to wait for the answer.
    assert.equal(waiting.status, 'queued');
    assert.equal(waiting.attempts, 0);
    const deadlineMs = waiting.run_at.getTime() - waiting.created_at.getTime();
    assert.ok(Math.abs(deadlineMs - 10_000) < 50, `due 10 s after the order without an answer (${deadlineMs} ms)`);
    assert.equal(tg.successCount('sendMediaGroup', u.id), 0);

    await orders.setAck(id, 1);
    const album = await u.waitForMessage((msg) => msg.method === 'sendMediaGroup', 20_000);
    await waitFor(async () => (await db.sql`select 1 from public.orders where id = ${id} and choice_message_id is not null`).length, 10_000, 'the variants delivered');
    assert.ok(album.sentAt < waiting.run_at.getTime(), 'delivered as soon as the answer was recorded, before the deadline');
    const [d] = await db.sql`select attempts from public.jobs j join public.orders o on o.deliver_job_id = j.id where o.id = ${id}`;
    assert.equal(d.attempts, 1);
  });
});
