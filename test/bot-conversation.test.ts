// The order conversation end to end, in-process: the real app (polling leader, worker
// pool, the generation and delivery jobs) against the fake Telegram Bot API on real Postgres.
import assert from 'node:assert/strict';
import { after as afterAll, before, describe, test } from 'node:test';
import { samplePhoto } from '../src/cards/sample.ts';
import type { RunningApp } from '../src/main.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { sniffImage, startFakeTelegram, type FakeTelegram } from './support/fake-telegram.ts';
import { TOKEN, after, buttons, fillOrder, isAskTitle, startBotApp, waitForAlbum } from './support/bot.ts';
import { unzip } from './support/unzip.ts';

let photo: Buffer;
before(async () => { photo = await samplePhoto(800, 800); });

describe('conversation with a working pool', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  let app: RunningApp;
  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
    app = await startBotApp(db.url, tg, { TELEGRAM_THROTTLE: 'false', ADMIN_IDS: '1001' });
  });
  afterAll(async () => {
    await app?.stop();
    await tg?.close();
    await db?.drop();
  });

  test('photo → title → features → price → marketplace → template → confirm → 3 variants → pick → set as album + zip', async () => {
    const u = tg.user(1001, { languageCode: 'ru' });
    const { summary, confirmData } = await fillOrder(u, photo);
    assert.match(summary.text!, /Кружка керамическая 350 мл/);
    assert.match(summary.text!, /990\s₽/);
    const ack = await after(u, () => u.pressButton(summary.message_id, confirmData));
    assert.match(ack.text!, /Заказ №\d+ принят/);
    assert.match(ack.text!, /1-й в очереди/);
    const id = ack.text!.match(/№(\d+)/)![1];
    const variants = await waitForAlbum(u, ack.message_id, 3, 30_000);
    assert.match(variants[0].caption!, /варианты 1, 2, 3/);
    const choice = await u.waitForMessage((m) => buttons(m).some((b) => b.startsWith('pick:')), 20_000);
    assert.deepEqual(buttons(choice), [1, 2, 3].map((n) => `pick:${id}:${n}`));
    assert.ok(ack.sentAt < variants[0].sentAt && variants[0].sentAt <= choice.sentAt, 'ack, then the variants, then 1/2/3');
    await tg.waitFor(() => u.messages().find((m) => m.message_id === ack.message_id)?.text?.includes('варианта готовы'), 5000);
    u.pressButton(choice.message_id, `pick:${id}:1`);
    const doc = await u.waitForMessage((m) => m.kind === 'document', 30_000);
    const slides = await waitForAlbum(u, choice.message_id, 3, 5_000);
    assert.match(slides[0].caption!, /набор для Wildberries/);
    for (const m of slides) assert.deepEqual(sniffImage(m.bytes!), { format: 'jpeg', width: 900, height: 1200 });
    assert.ok(slides[0].sentAt <= doc.sentAt, 'the set, then the zip');
    assert.deepEqual(unzip(doc.bytes!).map((e) => e.name), [`card-${id}-1-main.jpg`, `card-${id}-2-infographic.jpg`, `card-${id}-3-detail.jpg`]);
    assert.deepEqual(buttons(doc), ['new']);
    // the ack is edited to "done"
    await tg.waitFor(() => u.messages().find((m) => m.message_id === ack.message_id)?.text?.includes('готово'), 5000);

    // A repeated tap on Confirm creates no second order.
    u.pressButton(summary.message_id, confirmData);
    await tg.waitFor(() => tg.callbackAnswers.size >= 1 && [...tg.callbackAnswers.values()].some((a) => a.text?.startsWith('Уже заказано')), 5000);
    const [{ n }] = await db.sql`select count(*)::int as n from public.orders where user_id = 1001`;
    assert.equal(n, 1);
    const [o] = await db.sql`select * from public.orders where user_id = 1001`;
    assert.equal(o.status, 'sent');
    assert.ok(o.photo_out_file_id && o.document_file_id && o.photo_message_id && o.document_message_id);
  });

  test('/history re-sends by file_id without uploading; /status while a pick is awaited; /cancel before the set; /stats for admins', async () => {
    const u = tg.user(1001);
    const hist = await after(u, () => u.sendCommand('/history'), (m) => buttons(m).length > 0);
    const id = Number(buttons(hist)[0].slice(3));
    const uploadsBefore = tg.calls.filter((c) => c.method === 'sendDocument').length;
    const resent = await after(u, () => u.pressButton(hist.message_id, `re:${id}`), (m) => m.kind === 'document');
    const call = tg.calls.filter((c) => c.method === 'sendDocument').at(-1)!;
    assert.equal(typeof call.params.document, 'string', 'sent by file_id, not uploaded');
    assert.equal(tg.calls.filter((c) => c.method === 'sendDocument').length, uploadsBefore + 1);
    assert.ok(resent.document);

    const st = await after(u, () => u.sendCommand('/status'));
    assert.match(st.text!, /Заказов в работе нет/);

    // A second order waits for the pick: /status says so, and /cancel still stops it.
    const { summary, confirmData } = await fillOrder(u, photo, { title: 'Вторая' });
    const ack2 = await after(u, () => u.pressButton(summary.message_id, confirmData), (m) => /принят/.test(m.text ?? ''));
    const choice = await u.waitForMessage((m) => m.message_id > ack2.message_id && buttons(m).some((b) => b.startsWith('pick:')), 30_000);
    const id2 = Number(ack2.text!.match(/№(\d+)/)![1]);
    assert.match((await after(u, () => u.sendCommand('/status'))).text!, new RegExp(`№${id2} — ждёт вашего выбора`));
    // The only open order: /cancel cancels it at once.
    assert.match((await after(u, () => u.sendCommand('/cancel'), (m) => /отмен/.test(m.text ?? ''))).text!, new RegExp(`№${id2} отменён`));
    const late = u.pressButton(choice.message_id, `pick:${id2}:2`, { unchecked: true });
    await tg.waitFor(() => u.callbackAnswer(late.id), 5000);
    assert.match(u.callbackAnswer(late.id)!.text!, /закрыт/);
    const [o2] = await db.sql`select status, choice, set_job_id from public.orders where id = ${id2}`;
    assert.deepEqual([o2.status, o2.choice, o2.set_job_id], ['canceled', null, null]);

    // Two paid AI variants of one order (issue 15): their reported cost is in /stats.
    await db.sql`insert into ai_calls (call_key, order_key, state, paid_calls, cost_usd)
      values ('bot:1:v1:backdrop', 'bot:1', 'done', 1, 0.039), ('bot:1:v2:backdrop', 'bot:1', 'done', 1, 0.041)`;
    const stats = await after(u, () => u.sendCommand('/stats'));
    assert.match(stats.text!, /Очередь: ждут \d+/);
    assert.match(stats.text!, /Расходы на ИИ \(по данным провайдера\): всего \$0\.0800, заказов 1, \$0\.0800 на заказ, платных вызовов 2/);
    const stranger = tg.user(1002, { languageCode: 'ru' });
    const notAdmin = await after(stranger, () => stranger.sendCommand('/stats'));
    assert.match(notAdmin.text!, /\/start — новая карточка/);
  });

  test('language from Telegram, /lang switches, /help', async () => {
    const en = tg.user(2001, { languageCode: 'en' });
    assert.match((await after(en, () => en.sendCommand('/start'))).text!, /^Hi, /);
    assert.match((await after(en, () => en.sendCommand('/help'))).text!, /\/history/);
    const menu = await after(en, () => en.sendCommand('/lang'));
    await after(en, () => en.pressButton(menu.message_id, 'lang:ru'), () => true).catch(() => {});
    await tg.waitFor(() => en.messages().find((m) => m.message_id === menu.message_id)?.text?.includes('русский'), 5000);
    assert.match((await after(en, () => en.sendCommand('/start'))).text!, /^Здравствуйте/);
  });

  test('stickers, voice, non-image files, photos over 20 MB and stray text get a polite hint', async () => {
    const u = tg.user(3001, { languageCode: 'en' });
    await after(u, () => u.sendCommand('/start'));
    assert.match((await after(u, () => u.sendSticker())).text!, /Stickers cannot become cards/);
    assert.match((await after(u, () => u.sendVoice())).text!, /voice messages/);
    assert.match((await after(u, () => u.sendDocument(Buffer.from('%PDF-1.4'), { fileName: 'a.pdf', mimeType: 'application/pdf' }))).text!, /not an image/);
    assert.match((await after(u, () => u.sendDocument(photo, { fileName: 'big.jpg', mimeType: 'image/jpeg', fileSize: 25 * 1024 * 1024 }))).text!, /25 MB.*at most 20 MB/);
    assert.match((await after(u, () => u.sendText('hello'))).text!, /Send a product photo/);
    // An image sent as a file is accepted like a photo; a too-long title is refused politely.
    assert.match((await after(u, () => u.sendDocument(photo, { fileName: 'p.jpg', mimeType: 'image/jpeg' }), isAskTitle, 30_000)).text!, /title/);
    assert.match((await after(u, () => u.sendText('x'.repeat(61)))).text!, /61 characters/);
    // Emoji and characters the font lacks are refused at the step, naming them.
    assert.match((await after(u, () => u.sendText('Mug ☕ 350 ml'))).text!, /cannot show these characters: ☕ \(U\+2615\)/);
    assert.match((await after(u, () => u.sendText('Mug 350 ml'))).text!, /Key features/);
    assert.match((await after(u, () => u.sendText('Hot 🔥\nBig'))).text!, /🔥 \(U\+1F525\)/);
  });

  test('Edit from the summary changes one field and returns to a fresh summary; the old Confirm is stale', async () => {
    const u = tg.user(4001, { languageCode: 'en' });
    const { summary, confirmData } = await fillOrder(u, photo, { title: 'Mug', price: 'skip' });
    await after(u, () => u.pressButton(summary.message_id, 'edit'), () => true).catch(() => {});
    await tg.waitFor(() => buttons(u.messages().find((m) => m.message_id === summary.message_id)!).includes('ef:title'), 5000);
    await after(u, () => u.pressButton(summary.message_id, 'ef:title'));
    const fresh = await after(u, () => u.sendText('Big mug'), (m) => buttons(m).some((b) => b.startsWith('ok:')));
    assert.match(fresh.text!, /Title: Big mug/);
    const stale = u.pressButton(fresh.message_id, confirmData, { unchecked: true });
    await tg.waitFor(() => u.callbackAnswer(stale.id), 5000);
    assert.match(u.callbackAnswer(stale.id)!.text!, /out of date/);
    const [{ n }] = await db.sql`select count(*)::int as n from public.orders where user_id = 4001`;
    assert.equal(n, 0);
  });
});

describe('limits and /cancel (no worker: orders stay queued)', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  let app: RunningApp;
  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
    app = await startBotApp(db.url, tg, { TELEGRAM_THROTTLE: 'false', MAX_OPEN_ORDERS: '2', DAILY_ORDER_QUOTA: '3' }, { worker: false });
  });
  afterAll(async () => {
    await app?.stop();
    await tg?.close();
    await db?.drop();
  });

  const order = async (u: ReturnType<FakeTelegram['user']>) => {
    const { summary, confirmData } = await fillOrder(u, photo);
    return after(u, () => u.pressButton(summary.message_id, confirmData), (m) => m.kind === 'text');
  };

  test('MAX_OPEN_ORDERS, /status positions, /cancel, then the daily quota', async () => {
    const u = tg.user(5001, { languageCode: 'en' });
    assert.match((await order(u)).text!, /#1 in line/);
    assert.match((await order(u)).text!, /#2 in line/);
    assert.match((await order(u)).text!, /already have 2 cards in progress/);
    const st = await after(u, () => u.sendCommand('/status'));
    assert.match(st.text!, /in line, #1[\s\S]*in line, #2/);

    // The refused draft is still there: the first /cancel drops it, the next one offers the orders.
    assert.match((await after(u, () => u.sendCommand('/cancel'))).text!, /^Canceled/);
    const which = await after(u, () => u.sendCommand('/cancel'), (m) => buttons(m).length === 2);
    const first = Number(buttons(which)[0].slice(3));
    assert.match((await after(u, () => u.pressButton(which.message_id, `oc:${first}`), (m) => /canceled/.test(m.text ?? ''))).text!, /will not be delivered/);
    const [o] = await db.sql`select o.status, j.status as job from public.orders o join public.jobs j on j.id = o.render_job_id where o.id = ${first}`;
    assert.deepEqual({ ...o }, { status: 'canceled', job: 'canceled' });

    assert.match((await order(u)).text!, /accepted/); // third of the day
    const again = await after(u, () => u.sendCommand('/cancel'), (m) => buttons(m).length === 2);
    await after(u, () => u.pressButton(again.message_id, buttons(again)[0]), (m) => /canceled/.test(m.text ?? ''));
    assert.match((await order(u)).text!, /daily limit/);
    // /cancel during a draft drops the draft, not an order
    await after(u, () => u.sendPhoto(photo), isAskTitle, 30_000);
    assert.match((await after(u, () => u.sendCommand('/cancel'))).text!, /Canceled/);
  });
});
