// Hostile input: a corpus fed to the bot (through the fake Telegram and the real
// webhook) and to the HTTP server. Each case must get a clear answer, and the process
// must keep serving. Prints how many cases ran and passed.
import assert from 'node:assert/strict';
import { after as afterAll, before, describe, test } from 'node:test';
import type { RunningApp } from '../src/main.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { startFakeTelegram, type FakeTelegram, type FakeUser } from './support/fake-telegram.ts';
import { TOKEN, after, buttons, fillOrder, freePort, startBotApp } from './support/bot.ts';
import { animatedGif, bombPng, corruptJpeg, productPhoto } from './support/hostile-files.ts';

describe('hostile input corpus', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  let app: RunningApp;
  let port: number;
  const SECRET = 'hostile-secret';
  let userSeq = 7000;
  const results: { name: string; ok: boolean }[] = [];
  const fresh = async (): Promise<FakeUser> => {
    const u = tg.user(++userSeq, { languageCode: 'en' });
    await after(u, () => u.sendCommand('/start'));
    return u;
  };
  const post = (body: string, headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${port}/telegram`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET, ...headers },
  });
  const stillServing = async () => {
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'still healthy');
    const u = tg.user(++userSeq, { languageCode: 'en' });
    assert.match((await after(u, () => u.sendCommand('/start'))).text!, /Hi/);
  };
  const hostile = (name: string, fn: () => Promise<void>) => test(name, async () => {
    let ok = false;
    try { await fn(); await stillServing(); ok = true; } finally { results.push({ name, ok }); }
  });

  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
    port = await freePort();
    app = await startBotApp(db.url, tg, {
      TELEGRAM_THROTTLE: 'false', PORT: String(port), WEBHOOK_URL: `http://127.0.0.1:${port}`, TELEGRAM_WEBHOOK_SECRET: SECRET,
    });
  });
  afterAll(async () => {
    console.log(`# hostile corpus: ${results.length} cases ran, ${results.filter((r) => r.ok).length} passed`);
    await app?.stop();
    await tg?.close();
    await db?.drop();
  });

  const rejectsUpload = (name: string, make: () => Promise<{ bytes: Buffer; fileName: string; mimeType: string; fileSize?: number }>, expect: RegExp) =>
    hostile(name, async () => {
      const u = await fresh();
      const f = await make();
      const reply = await after(u, () => u.sendDocument(f.bytes, { fileName: f.fileName, mimeType: f.mimeType, fileSize: f.fileSize }));
      assert.match(reply.text!, expect);
      assert.match(reply.text!, /photo|JPEG|PNG/i, 'says what to send instead');
      const [{ n }] = await db.sql`select count(*)::int as n from public.orders where user_id = ${u.id}`;
      assert.equal(n, 0);
    });

  rejectsUpload('a text file named photo.jpg', async () => ({ bytes: Buffer.from('definitely not a jpeg'), fileName: 'photo.jpg', mimeType: 'image/jpeg' }), /not an image/i);
  rejectsUpload('a zero-byte file', async () => ({ bytes: Buffer.alloc(0), fileName: 'empty.jpg', mimeType: 'image/jpeg' }), /empty/i);
  rejectsUpload('a corrupt JPEG', async () => ({ bytes: await corruptJpeg(), fileName: 'broken.jpg', mimeType: 'image/jpeg' }), /damaged/i);
  rejectsUpload('a PNG decompression bomb (30,000 × 30,000)', async () => ({ bytes: await bombPng(), fileName: 'huge.png', mimeType: 'image/png' }), /too large/i);
  rejectsUpload('an animated GIF', async () => ({ bytes: await animatedGif(), fileName: 'anim.gif', mimeType: 'image/gif' }), /animated|not an image/i);
  rejectsUpload('a 30 MB upload', async () => ({ bytes: await productPhoto(), fileName: 'big.jpg', mimeType: 'image/jpeg', fileSize: 30 * 1024 * 1024 }), /30(\.0)? MB|too (big|large)/i);

  hostile('a 5,000-character title', async () => {
    const u = await fresh();
    await after(u, async () => u.sendPhoto(await productPhoto()), (m) => /title/i.test(m.text ?? ''));
    const reply = await after(u, () => u.sendText('Ж'.repeat(5000)));
    assert.match(reply.text!, /5000 characters.*60/);
  });

  hostile('emoji, right-to-left and zero-width text make a card', async () => {
    const u = await fresh();
    const { summary, confirmData } = await fillOrder(u, await productPhoto(), {
      title: '🔥 كوب سيراميك ‏Кружка\u200b\u200d 350 мл 🎁', features: '⭐️ עמיד\n\u200f\u202eReversed\u202c text\nобычная строка',
    });
    assert.match(summary.text!, /Кружка/);
    const card = await after(u, () => u.pressButton(summary.message_id, confirmData), (m) => m.kind === 'document', 30_000);
    assert.equal(card.file?.mime_type ?? 'image/jpeg', 'image/jpeg');
  });

  hostile('text that looks like SQL or HTML is kept literally', async () => {
    const u = await fresh();
    const title = `'); drop table jobs; -- <b>x</b><script>`;
    const { summary } = await fillOrder(u, await productPhoto(), { title, features: '<i>a</i> & b\n${process.env}' });
    assert.ok(summary.text!.includes(title), 'shown as typed');
    const [{ t }] = await db.sql`select title as t from public.orders where user_id = ${u.id} union all select ${title} limit 1`;
    assert.equal(t, title);
    const [{ n }] = await db.sql`select count(*)::int as n from public.jobs`;
    assert.ok(n >= 0, 'the jobs table is still there');
  });

  hostile('callback data from another user\'s message is refused', async () => {
    const a = await fresh();
    const { summary, confirmData } = await fillOrder(a, await productPhoto());
    const b = await fresh();
    const before = b.messages().length;
    const q = b.pressButton(summary.message_id, confirmData, { unchecked: true });
    // Answered (a toast, or a message saying the button is not current), never obeyed.
    await tg.waitFor(() => b.callbackAnswer(q.id) || b.messages().length > before, 5_000, 'an answer to the foreign press');
    const [{ n }] = await db.sql`select count(*)::int as n from public.orders where user_id in (${a.id}, ${b.id})`;
    assert.equal(n, 0, 'no order from a foreign button');
    assert.ok(buttons(summary).length > 0);
  });

  hostile('malformed webhook JSON → 400', async () => {
    const r = await post('{"update_id": 1, "message": ');
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error.code, 'bad_request');
  });

  hostile('a webhook body over 1 MB → 413', async () => {
    const r = await post(JSON.stringify({ update_id: 424242, message: { text: 'x'.repeat(1_200_000) } }));
    assert.equal(r.status, 413);
  });

  hostile('a wrong or missing secret token → 401', async () => {
    assert.equal((await post('{"update_id": 5}', { 'x-telegram-bot-api-secret-token': 'nope' })).status, 401);
    const r = await fetch(`http://127.0.0.1:${port}/telegram`, { method: 'POST', body: '{"update_id": 6}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 401);
  });

  hostile('stickers and voice messages get a hint', async () => {
    const u = await fresh();
    assert.match((await after(u, () => u.sendSticker())).text!, /photo/i);
    assert.match((await after(u, () => u.sendVoice())).text!, /photo/i);
  });
});
