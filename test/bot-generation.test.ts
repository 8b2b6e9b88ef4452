// The bot's generation flow end to end through the fake Bot API (issue 15): photo → the
// cut-out shown at once → words → marketplace and template → confirm → 3 variants as one
// album + a 1/2/3 message → the pick → the set (main picture + infographic slides) as an
// album plus ONE zip of the full-resolution JPEGs; the "queued" message edited through the
// stages; a repeated pick finds the same choice; a photo the gate refuses is framed and
// still makes a set, saying so; a slide that breaks the marketplace's rules is never sent.
import assert from 'node:assert/strict';
import { after as afterAll, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { composeSet, type SetComposer } from '../src/cards/index.ts';
import type { RunningApp } from '../src/main.ts';
import { cardSetJob } from '../src/orders/jobs/card-set.ts';
import { renderCardJob } from '../src/orders/jobs/render-card.ts';
import { createTelegramApi } from '../src/telegram/api.ts';
import type { JobContext } from '../src/worker/registry.ts';
import { PermanentError } from '../src/worker/retry.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { startFakeTelegram, type FakeTelegram } from './support/fake-telegram.ts';
import { TOKEN, after, buttons, confirmAndPick, fillOrder, isAskTitle, startBotApp } from './support/bot.ts';
import { postgresOrderStore } from './support/stores.ts';
import { unzip } from './support/unzip.ts';
import { waitFor } from './support/wait.ts';

let photo: Buffer;
let camouflaged: Buffer;
before(async () => {
  // A clear product on a plain ground: the gate cuts it out.
  photo = await sharp({ create: { width: 800, height: 800, channels: 3, background: '#e8e4dc' } })
    .composite([{ input: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="800" height="800"><rect x="260" y="180" width="280" height="440" rx="40" fill="#3a7bd5"/></svg>') }])
    .jpeg().toBuffer();
  // The product is the backdrop's own colour: the confidence gate refuses it.
  camouflaged = await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="600" height="800"><rect width="600" height="800" fill="#b8b8b8"/>` +
    `<rect x="180" y="200" width="240" height="380" fill="#b9b9b9"/></svg>`)).jpeg({ quality: 90 }).toBuffer();
});

const isJpeg = (b: Buffer) => b[0] === 0xff && b[1] === 0xd8 && b.at(-2) === 0xff && b.at(-1) === 0xd9;

describe('the generation flow in the bot', () => {
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

  test('cut-out preview, 3 variants in one album + 1/2/3, the pick, the set as an album + one zip of its JPEGs; the status edited through the stages', async () => {
    const u = tg.user(5101, { languageCode: 'en' });
    await after(u, () => u.sendCommand('/start'));
    const preview = await after(u, () => u.sendPhoto(photo), (m) => m.kind === 'photo' || /framed/.test(m.text ?? ''), 30_000);
    assert.equal(preview.kind, 'photo', `the cut-out shown at once (got: ${preview.text})`);
    assert.match(preview.caption ?? '', /cut out/);
    await u.waitForMessage(isAskTitle, 10_000);
    const [kept] = await db.sql`select cutout is not null as cut, framed_reason from public.order_photos`;
    assert.deepEqual([kept.cut, kept.framed_reason], [true, null], 'the cut-out kept with the photo for the render job');
    // fillOrder sends /start and the photo again: the same file, the same kept cut-out.
    const ordered = await fillOrder(u, photo, { title: 'Ceramic mug 350 ml', features: 'Dishwasher safe\nGift box', marketplace: 'ozon' });
    assert.match(ordered.summary.text ?? '', /Marketplace: Ozon/);
    const got = await confirmAndPick(u, ordered, 2);

    assert.equal(got.variants.length, 3, 'one album of 3');
    assert.equal(new Set(got.variants.map((m) => m.media_group_id)).size, 1);
    const offered = (got.choice.edits[0]?.previous.reply_markup ?? got.choice.reply_markup) as { inline_keyboard: Array<Array<{ text: string }>> };
    assert.deepEqual(offered.inline_keyboard.flat().map((b) => b.text), ['1', '2', '3'], 'buttons 1 / 2 / 3');
    assert.deepEqual(got.choice.reply_markup.inline_keyboard.flat().map((b: { text: string }) => b.text), ['✅ 2'], 'the pick stays shown');
    const o = await waitFor(async () => (await db.sql`select * from public.orders where user_id = 5101 and status = 'sent'`)[0], 10_000, 'the order sent');
    assert.equal(o.choice, 2);
    assert.equal(o.marketplace, 'ozon');
    const variantRows = await db.sql`select n, bytes from public.order_images where order_id = ${o.id} and role = 'variant' order by n`;
    assert.equal(new Set(variantRows.map((r) => r.bytes.toString('base64'))).size, 3, 'each variant on a different backdrop');
    for (const [i, m] of got.variants.entries()) assert.ok(m.bytes!.equals(variantRows[i].bytes), `album photo ${i + 1} is variant ${i + 1}`);

    // The set: the chosen variant as the main picture, then ≥ 2 infographic slides.
    const slides = await db.sql`select role, n, bytes, width, height from public.order_images
      where order_id = ${o.id} and role in ('main', 'infographic', 'detail') order by n`;
    assert.ok(slides.length >= 3);
    assert.equal(slides[0].role, 'main');
    assert.ok(slides[0].bytes.equals(variantRows[1].bytes), 'the main picture is the picked variant');
    assert.equal(got.slides.length, slides.length, 'one album holding every slide');
    for (const [i, m] of got.slides.entries()) assert.ok(m.bytes!.equals(slides[i].bytes), `album slide ${i + 1}`);
    assert.match(got.slides[0].caption ?? '', /Ozon/);

    // ONE zip document: every entry a valid full-resolution JPEG, byte-equal to its slide.
    assert.equal(u.messages().filter((m) => m.kind === 'document').length, 1);
    assert.match(got.zip.document?.file_name ?? '', /\.zip$/);
    const entries = unzip(got.zip.bytes!);
    assert.equal(entries.length, slides.length);
    for (const [i, e] of entries.entries()) {
      assert.ok(isJpeg(e.data), `${e.name} is a JPEG`);
      const m = await sharp(e.data).metadata();
      assert.deepEqual([m.format, m.width, m.height], ['jpeg', slides[i].width, slides[i].height]);
      assert.ok(e.data.equals(slides[i].bytes), `${e.name} is slide ${i + 1}`);
    }

    // The "queued" message, edited as the stages finished.
    const ack = u.messages().find((m) => /accepted/.test(m.edits[0]?.previous.text ?? m.text ?? ''))!;
    const texts = ack.edits.map((e) => e.text ?? '');
    const stage = (re: RegExp) => texts.findIndex((t) => re.test(t));
    // The variants' delivery waits for the recorded answer, so these three always show; the
    // cut-out stage shows when the answer was recorded before the cut-out was (usually).
    const order = [/variants ready/, /making the set/, /done/].map(stage);
    assert.ok(order.every((i) => i >= 0), `every stage shown: ${JSON.stringify(texts)}`);
    assert.deepEqual([...order].sort((a, b) => a - b), order, `in order: ${JSON.stringify(texts)}`);
    const cut = stage(/cut out/);
    assert.ok(cut < order[0], `the cut-out stage, when shown, comes first: ${JSON.stringify(texts)}`);
  });

  test('a repeated pick finds the same choice; another number after it gets "already chosen"; one set, one zip', async () => {
    const u = tg.user(5102, { languageCode: 'en' });
    const ordered = await fillOrder(u, photo, { title: 'Tea pot' });
    const got = await confirmAndPick(u, ordered, 3);
    const pick = (n: number) => u.pressButton(got.choice.message_id, `pick:${got.choice.text?.match(/#(\d+)/)?.[1]}:${n}`, { unchecked: true });
    const again = pick(3);
    const other = pick(1);
    await waitFor(async () => u.callbackAnswer(again.id) && u.callbackAnswer(other.id), 10_000, 'both taps answered');
    assert.match(u.callbackAnswer(again.id)!.text ?? '', /Variant 3/);
    assert.match(u.callbackAnswer(other.id)!.text ?? '', /Already chosen: variant 3/);
    await new Promise((r) => setTimeout(r, 1_500));
    const o = await waitFor(async () => (await db.sql`select id, choice, status from public.orders where user_id = 5102 and status = 'sent'`)[0], 10_000, 'the order sent');
    assert.deepEqual([o.choice, o.status], [3, 'sent']);
    const [{ sets }] = await db.sql`select count(*)::int as sets from public.jobs where kind = 'card-set' and payload->>'orderId' = ${String(o.id)}`;
    assert.equal(sets, 1, 'one set job');
    assert.equal(u.messages().filter((m) => m.kind === 'document').length, 1, 'one zip');
    assert.equal(u.messages().filter((m) => m.method === 'sendMediaGroup').length, 6, 'two albums of 3, no more');
  });

  test('a photo the gate refuses is framed as is, the seller is told why, and it still makes a set', async () => {
    const u = tg.user(5103, { languageCode: 'en' });
    await after(u, () => u.sendCommand('/start'));
    const told = await after(u, () => u.sendPhoto(camouflaged), (m) => m.kind === 'text', 30_000);
    assert.match(told.text ?? '', /framed as is/);
    const ordered = await fillOrder(u, camouflaged, { title: 'Grey box' });
    const got = await confirmAndPick(u, ordered, 1);
    assert.match(got.variants[0].caption ?? '', /framed as is/);
    const o = await waitFor(async () => (await db.sql`select status, framed_reason from public.orders where user_id = 5103 and status = 'sent'`)[0], 10_000, 'the order sent');
    assert.ok(o.framed_reason, 'the reason is recorded');
    assert.ok(unzip(got.zip.bytes!).length >= 3);
  });
});

describe('the set is checked against the marketplace before delivery', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
  });
  afterAll(async () => {
    await tg?.close();
    await db?.drop();
  });

  test('a violating slide fails the order with the rule named: nothing of the set is recorded or sent, the seller is told', async () => {
    const orders = postgresOrderStore(db.sql);
    const api = createTelegramApi({ token: TOKEN, apiRoot: tg.apiRoot, throttle: false, maxInlineRetrySeconds: 0, retryServerErrors: false, maxRetryAttempts: 0 });
    const deps = { orders, api, token: TOKEN, apiRoot: tg.apiRoot, workerId: 'w1', maxPhotoBytes: 20 << 20 };
    const u = tg.user(5201, { started: true, languageCode: 'en' });
    const m = u.sendPhoto(photo);
    const r = await orders.confirm({
      key: 't:5201', userId: u.id, chatId: u.id, lang: 'en', photoFileId: m.photo!.at(-1)!.file_id,
      title: 'Thermo mug', features: ['Keeps heat'], price: '1290', template: 'clean', marketplace: 'ozon', maxOpen: 5, dailyQuota: 50,
    });
    const id = (r as { order: { id: number } }).order.id;
    const ctx = { job: { id: '1', attempts: 1, maxAttempts: 5 }, signal: new AbortController().signal, log: { info() {}, warn() {}, debug() {}, child() { return this; } } } as unknown as JobContext;
    await renderCardJob(deps).handle({ orderId: id }, ctx);
    assert.equal((await orders.choose(id, u.id, 1))?.result, 'ok');
    // A composer that puts a caption on Ozon's main picture.
    const bad: SetComposer = async (i) => {
      const slides = await composeSet(i);
      return [{ ...slides[0], shows: { text: true, price: false } }, ...slides.slice(1)];
    };
    await assert.rejects(cardSetJob({ ...deps, compose: bad }).handle({ orderId: id }, ctx), (e) => {
      assert.ok(e instanceof PermanentError, String(e));
      assert.match(e.message, /ozon.*slide 1: .*\(text_on_main\)/);
      return true;
    });
    const [o] = await db.sql`select status, set_at, set_deliver_job_id,
      (select count(*)::int from public.order_images where order_id = ${id} and role in ('main', 'infographic', 'detail')) as slides
      from public.orders where id = ${id}`;
    assert.deepEqual([o.status, o.set_at, o.set_deliver_job_id, o.slides], ['failed', null, null, 0]);
    assert.equal(tg.successCount('sendMediaGroup', u.id), 0, 'nothing of the set sent');
    await waitFor(async () => u.messages().some((x) => /picture rules/.test(x.text ?? '')), 5_000, 'the seller told');
  });
});
