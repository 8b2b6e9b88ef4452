import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bot, GrammyError, HttpError, InputFile, InlineKeyboard, webhookCallback } from 'grammy';
import { autoRetry } from '@grammyjs/auto-retry';
import { applyParseMode, startFakeTelegram, type FakeTelegram, type FakeTelegramOptions } from './support/fake-telegram.ts';
import { parseMultipart } from './support/multipart.ts';

const TOKEN = '987654:TEST_token-abc';

/** Minimal PNG header (signature + IHDR) declaring a 640x480 image, plus junk. */
function fakePng(width = 640, height = 480, extra = 32): Buffer {
  const b = Buffer.alloc(33 + extra);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'ascii');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  for (let i = 33; i < b.length; i++) b[i] = (i * 37) & 0xff;
  return b;
}

async function withFake(
  fn: (tg: FakeTelegram, bot: Bot) => Promise<void>,
  opts: FakeTelegramOptions = {},
): Promise<void> {
  const tg = await startFakeTelegram({ token: TOKEN, ...opts });
  const bot = new Bot(TOKEN, { client: { apiRoot: tg.apiRoot } });
  try {
    await fn(tg, bot);
  } finally {
    if (bot.isRunning()) await bot.stop();
    await tg.close();
  }
}

/** Starts long polling and resolves once the first getUpdates is in flight. */
async function startPolling(tg: FakeTelegram, bot: Bot): Promise<{ running: Promise<void> }> {
  bot.catch((err) => {
    console.error('bot error', err.error);
  });
  const running = bot.start({ timeout: 10 });
  await tg.waitFor(() => tg.calls.some((c) => c.method === 'getUpdates'), 3000, 'first getUpdates');
  // (wrapped: an async function returning a promise would adopt it)
  return { running };
}

test('getMe via bot.init()', async () => {
  await withFake(async (tg, bot) => {
    await bot.init();
    assert.equal(bot.botInfo.id, 987654);
    assert.equal(bot.botInfo.is_bot, true);
    assert.equal(bot.botInfo.username, 'fake_test_bot');
    assert.equal(tg.calls[0]?.method, 'getMe');
    assert.equal(tg.calls[0]?.status, 200);
  });
});

test('long polling: /start from a user, bot replies; updates are confirmed on stop', async () => {
  await withFake(async (tg, bot) => {
    bot.command('start', (ctx) => ctx.reply(`Привет, ${ctx.from?.first_name}! lang=${ctx.from?.language_code}`, { reply_markup: new InlineKeyboard().text('Go', 'go:1') }));
    const { running } = await startPolling(tg, bot);
    const alice = tg.user(1001, { firstName: 'Alice', languageCode: 'en' });
    const sent = alice.sendCommand('/start');
    const reply = await alice.waitForMessage((m) => m.text?.startsWith('Привет') ?? false, 3000);
    assert.equal(reply.text, 'Привет, Alice! lang=en');
    assert.ok(reply.message_id > sent.message_id);
    assert.deepEqual(reply.reply_markup, { inline_keyboard: [[{ text: 'Go', callback_data: 'go:1' }]] });
    await bot.stop();
    await running;
    assert.equal(tg.pendingUpdates().length, 0, 'offset confirmed by bot.stop()');
    const gu = tg.calls.filter((c) => c.method === 'getUpdates');
    assert.ok(gu.every((c) => c.status === 200 || c.status === 0 || c.status === 409 || c.status === -1));
  });
});

test('sendPhoto with InputFile(buffer) arrives via multipart with the exact bytes; file_id reuse; getFile of bot upload', async () => {
  await withFake(async (tg, bot) => {
    const u = tg.user(2002, { started: true });
    const png = fakePng(1600, 1200, 5000);
    const msg = await bot.api.sendPhoto(u.id, new InputFile(png, 'card.png'), { caption: '<b>Карточка</b> готова', parse_mode: 'HTML' });
    assert.ok(Array.isArray(msg.photo) && msg.photo.length >= 2);
    const largest = msg.photo.at(-1)!;
    assert.equal(largest.width, 1600);
    assert.equal(largest.height, 1200);
    assert.equal(msg.caption, 'Карточка готова');
    assert.deepEqual(msg.caption_entities, [{ type: 'bold', offset: 0, length: 8 }]);

    const seen = u.lastMessage()!;
    assert.equal(seen.kind, 'photo');
    assert.ok(seen.bytes!.equals(png));
    assert.equal(seen.source, '<b>Карточка</b> готова');
    assert.equal(tg.successCount('sendPhoto', u.id), 1);
    const call = tg.calls.find((c) => c.method === 'sendPhoto')!;
    assert.match(String(call.params['photo']), /^attach:\/\//);
    assert.ok(!JSON.stringify(call.params).includes(png.toString('base64').slice(0, 20)));

    // resend by file_id (no upload)
    const again = await bot.api.sendPhoto(u.id, largest.file_id);
    assert.equal(again.photo.at(-1)!.file_unique_id, largest.file_unique_id);
    assert.equal(tg.successCount('sendPhoto', u.id), 2);

    // download what the bot uploaded
    const file = await bot.api.getFile(largest.file_id);
    const res = await fetch(`${tg.apiRoot}/file/bot${TOKEN}/${file.file_path}`);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(png));

    // documents too
    const pdf = Buffer.from('%PDF-1.4 fake pdf bytes');
    const doc = await bot.api.sendDocument(u.id, new InputFile(pdf, 'отчёт.pdf'));
    assert.equal(doc.document.file_name, 'отчёт.pdf');
    assert.equal(doc.document.mime_type, 'application/pdf');
    assert.ok(u.lastMessage()!.bytes!.equals(pdf));
    assert.equal(tg.successCount('sendDocument', u.id), 1);
  });
});

test('user photo: bot downloads it through getFile + /file/bot<token>/<path>', async () => {
  await withFake(async (tg, bot) => {
    bot.on('message:photo', async (ctx) => {
      const file = await ctx.getFile();
      const res = await fetch(`${tg.apiRoot}/file/bot${TOKEN}/${file.file_path}`);
      const bytes = Buffer.from(await res.arrayBuffer());
      await ctx.reply(`got ${bytes.length} bytes, sha=${bytes.equals(png) ? 'same' : 'different'}, caption=${ctx.msg.caption}`);
    });
    const png = fakePng(800, 600, 1000);
    const { running } = await startPolling(tg, bot);
    const bob = tg.user(3003);
    const sent = bob.sendPhoto(png, { caption: 'товар' });
    assert.equal(sent.photo!.at(-1)!.width, 800);
    const reply = await bob.waitForMessage((m) => m.text?.startsWith('got') ?? false, 3000);
    assert.equal(reply.text, `got ${png.length} bytes, sha=same, caption=товар`);
    await bot.stop();
    await running;
  });
});

test('webhook: delivery with secret header, retried after a 500, duplicate delivery, getUpdates conflict', async () => {
  await withFake(
    async (tg, bot) => {
      const handled: number[] = [];
      bot.on('message:text', async (ctx) => {
        handled.push(ctx.update.update_id);
        await ctx.reply(`echo: ${ctx.msg.text}`);
      });
      const cb = webhookCallback(bot, 'http', { secretToken: 's3cr3t_Token' });
      const received: Array<{ id: number; secret: string | undefined; status: number }> = [];
      let failFirst = true;
      const server = http.createServer(async (req, res) => {
        const secret = req.headers['x-telegram-bot-api-secret-token'] as string | undefined;
        if (failFirst) {
          failFirst = false;
          const chunks: Buffer[] = [];
          for await (const c of req) chunks.push(c as Buffer);
          received.push({ id: JSON.parse(Buffer.concat(chunks).toString()).update_id, secret, status: 500 });
          res.writeHead(500).end('boom');
          return;
        }
        received.push({ id: -1, secret, status: 200 });
        try {
          await cb(req, res);
        } catch {
          if (!res.headersSent) res.writeHead(500).end();
        }
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      try {
        await bot.api.setWebhook(url, { secret_token: 's3cr3t_Token' });
        const info = await bot.api.getWebhookInfo();
        assert.equal(info.url, url);

        await assert.rejects(bot.api.getUpdates(), (e: unknown) => e instanceof GrammyError && e.error_code === 409 && /webhook is active/.test(e.description));

        const carol = tg.user(4004);
        const m1 = carol.sendText('hello');
        const reply = await carol.waitForMessage((m) => m.text === 'echo: hello', 3000);
        assert.ok(reply);
        const lastId = tg.updates.at(-1)!.update_id;
        // the bot's reply can land before the webhook response completes
        const deliveries = await tg.waitFor(() => {
          const ds = tg.webhookDeliveries.filter((d) => d.update_id === lastId);
          return ds.length === 2 && ds;
        }, 2000, 'two delivery attempts');
        assert.deepEqual(deliveries.map((d) => [d.attempt, d.status]), [[1, 500], [2, 200]]);
        assert.ok(received.every((r) => r.secret === 's3cr3t_Token'));
        assert.equal(received[0]!.status, 500);
        assert.ok(m1.message_id > 0);
        await tg.waitFor(() => tg.pendingUpdates().length === 0, 2000, 'queue drained');

        // deliver the next update twice (same update_id) → bot handles it twice unless it dedupes
        tg.duplicateNextDelivery();
        carol.sendText('twice');
        await tg.waitFor(() => carol.messages().filter((m) => m.text === 'echo: twice').length === 2, 3000, 'two replies');
        const last = tg.updates.at(-1)!.update_id;
        assert.equal(handled.filter((id) => id === last).length, 2);

        // wrong secret → grammY answers 401 → fake keeps retrying, records errors
        await bot.api.setWebhook(url, { secret_token: 'other' });
        carol.sendText('nope');
        await tg.waitFor(() => tg.webhookDeliveries.filter((d) => d.status === 401).length >= 2, 3000, '401 retries');
        const wh = await bot.api.getWebhookInfo();
        assert.match(wh.last_error_message ?? '', /Wrong response from the webhook: 401/);
        assert.equal(wh.pending_update_count, 1);
        await bot.api.deleteWebhook({ drop_pending_updates: true });
        assert.equal(tg.pendingUpdates().length, 0);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    },
    { webhook: { retryDelayMs: 20, backoffFactor: 1 } },
  );
});

test('429 surfaces as GrammyError with parameters.retry_after and sends nothing', async () => {
  await withFake(async (tg, bot) => {
    const u = tg.user(5005, { started: true });
    tg.failNext('sendMessage', { code: 429, retryAfter: 7 });
    await assert.rejects(bot.api.sendMessage(u.id, 'hi'), (e: unknown) => {
      assert.ok(e instanceof GrammyError);
      assert.equal(e.error_code, 429);
      assert.equal(e.description, 'Too Many Requests: retry after 7');
      assert.equal(e.parameters.retry_after, 7);
      return true;
    });
    assert.equal(u.messages().length, 0);
    const c = tg.calls.at(-1)!;
    assert.equal(c.status, 429);
    assert.equal(c.injected, true);
    assert.equal(c.chatId, u.id);
    // next call goes through
    await bot.api.sendMessage(u.id, 'hi');
    assert.equal(u.messages().length, 1);
  });
});

test('@grammyjs/auto-retry waits retry_after and the call succeeds', async () => {
  await withFake(async (tg, bot) => {
    bot.api.config.use(autoRetry());
    const u = tg.user(6006, { started: true });
    tg.failNext('sendMessage', { code: 429, retryAfter: 1 });
    const t0 = Date.now();
    const m = await bot.api.sendMessage(u.id, 'after wait');
    const elapsed = Date.now() - t0;
    assert.equal(m.text, 'after wait');
    assert.ok(elapsed >= 950, `waited ${elapsed} ms`);
    const sends = tg.calls.filter((c) => c.method === 'sendMessage');
    assert.deepEqual(sends.map((c) => c.status), [429, 200]);
    assert.ok(sends[1]!.time - sends[0]!.time >= 950);
    assert.equal(u.messages().length, 1);
  });
});

test('wire protocol: 401 unknown token, 404 unknown method, case-insensitive methods, form/query/JSON/standard multipart params', async () => {
  await withFake(async (tg) => {
    const u = tg.user(7007, { started: true });
    let r = await fetch(`${tg.apiRoot}/bot123:wrong/getMe`);
    assert.equal(r.status, 401);
    assert.deepEqual(await r.json(), { ok: false, error_code: 401, description: 'Unauthorized' });

    r = await fetch(`${tg.apiRoot}/bot${TOKEN}/noSuchMethod`, { method: 'POST' });
    assert.equal(r.status, 404);
    assert.deepEqual(await r.json(), { ok: false, error_code: 404, description: 'Not Found' });

    r = await fetch(`${tg.apiRoot}/bot${TOKEN}/getme`);
    assert.equal(((await r.json()) as { result: { id: number } }).result.id, 987654);

    r = await fetch(`${tg.apiRoot}/bot${TOKEN}/sendMessage?chat_id=${u.id}&text=from+query`);
    assert.equal(r.status, 200);
    r = await fetch(`${tg.apiRoot}/bot${TOKEN}/sendMessage`, {
      method: 'POST',
      body: new URLSearchParams({ chat_id: String(u.id), text: 'from form', reply_markup: JSON.stringify({ inline_keyboard: [[{ text: 'x', callback_data: 'y' }]] }) }),
    });
    assert.equal(r.status, 200);
    const fd = new FormData();
    fd.set('chat_id', String(u.id));
    fd.set('caption', 'std multipart');
    fd.set('document', new Blob([Buffer.from('hello file')], { type: 'text/plain' }), 'hello.txt');
    r = await fetch(`${tg.apiRoot}/bot${TOKEN}/sendDocument`, { method: 'POST', body: fd });
    const body = (await r.json()) as { ok: boolean; result: { document: { file_name: string; mime_type: string } } };
    assert.equal(body.ok, true);
    assert.equal(body.result.document.file_name, 'hello.txt');
    assert.equal(body.result.document.mime_type, 'text/plain');
    assert.deepEqual(u.messages().map((m) => m.text ?? m.caption), ['from query', 'from form', 'std multipart']);
    assert.deepEqual(u.messages()[1]!.reply_markup, { inline_keyboard: [[{ text: 'x', callback_data: 'y' }]] });
    assert.equal(u.messages()[2]!.bytes!.toString(), 'hello file');
  });
});

test('getUpdates semantics: offset confirms, limit, timeout long-poll wakes up, overlapping call → 409 for the older one', async () => {
  await withFake(async (tg, bot) => {
    const u = tg.user(8008);
    u.sendText('a');
    u.sendText('b');
    u.sendText('c');
    const first = await bot.api.getUpdates({ limit: 2 });
    assert.deepEqual(first.map((x) => x.message?.text), ['a', 'b']);
    const next = await bot.api.getUpdates({ offset: first[1]!.update_id + 1 });
    assert.deepEqual(next.map((x) => x.message?.text), ['c']);
    assert.equal(tg.pendingUpdates().length, 1);
    const offset = next[0]!.update_id + 1;

    // long poll wakes up when an update arrives
    const t0 = Date.now();
    const poll = bot.api.getUpdates({ offset, timeout: 5 });
    await tg.waitFor(() => tg.calls.filter((c) => c.method === 'getUpdates').length === 3);
    setTimeout(() => u.sendText('d'), 50);
    const got = await poll;
    assert.deepEqual(got.map((x) => x.message?.text), ['d']);
    assert.ok(Date.now() - t0 < 2000);

    // overlapping getUpdates: the older request is terminated with 409
    const older = bot.api.getUpdates({ offset: got[0]!.update_id + 1, timeout: 5 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await tg.waitFor(() => tg.calls.filter((c) => c.method === 'getUpdates').length === 4);
    const newer = await bot.api.getUpdates({ offset: got[0]!.update_id + 1, timeout: 0 });
    assert.deepEqual(newer, []);
    const err = await older;
    assert.ok(err instanceof GrammyError && err.error_code === 409 && err.description.startsWith('Conflict: terminated by other getUpdates request'), String(err));
  });
});

test('editing, not-modified, deletion, inline buttons and callback answers', async () => {
  await withFake(async (tg, bot) => {
    bot.callbackQuery(/^pick:(\d+)$/, async (ctx) => {
      await ctx.answerCallbackQuery({ text: `picked ${ctx.match[1]}` });
      await ctx.editMessageText(`You picked <b>${ctx.match[1]}</b>`, { parse_mode: 'HTML' });
    });
    const { running } = await startPolling(tg, bot);
    const u = tg.user(9009, { started: true });
    const m = await bot.api.sendMessage(u.id, 'Choose:', { reply_markup: new InlineKeyboard().text('One', 'pick:1').text('Two', 'pick:2') });
    await assert.rejects(
      bot.api.editMessageText(u.id, m.message_id, 'Choose:', { reply_markup: new InlineKeyboard().text('One', 'pick:1').text('Two', 'pick:2') }),
      (e: unknown) => e instanceof GrammyError && e.error_code === 400 && e.description.startsWith('Bad Request: message is not modified'),
    );
    assert.throws(() => u.pressButton(m.message_id, 'pick:3'), /no inline button/);
    const q = u.pressButton(m.message_id, 'pick:2');
    await u.waitForMessage((x) => x.text === 'You picked 2', 3000);
    const bm = u.messages()[0]!;
    assert.equal(bm.edits.length, 1);
    assert.equal(bm.edits[0]!.previous.text, 'Choose:');
    assert.equal(bm.reply_markup, undefined, 'editMessageText without reply_markup removes the keyboard');
    assert.deepEqual(bm.entities, [{ type: 'bold', offset: 11, length: 1 }]);
    await tg.waitFor(() => u.callbackAnswer(q.id));
    assert.equal(u.callbackAnswer(q.id)!.text, 'picked 2');
    await bot.stop();
    await running;

    await assert.rejects(bot.api.answerCallbackQuery(q.id), (e: unknown) => e instanceof GrammyError && /query is too old/.test(e.description));
    assert.equal(await bot.api.deleteMessage(u.id, m.message_id), true);
    assert.equal(u.messages()[0]!.deleted, true);
    await assert.rejects(bot.api.deleteMessage(u.id, m.message_id), (e: unknown) => e instanceof GrammyError && e.description === 'Bad Request: message to delete not found');
    await assert.rejects(bot.api.editMessageText(u.id, m.message_id, 'x'), (e: unknown) => e instanceof GrammyError && e.description === 'Bad Request: message to edit not found');
  });
});

test('limits and errors: long text, caption, parse errors, blocked user, unknown chat, upload and getFile size limits', async () => {
  await withFake(
    async (tg, bot) => {
      const u = tg.user(1111, { started: true });
      const isBad = (re: RegExp, code = 400) => (e: unknown) => e instanceof GrammyError && e.error_code === code && re.test(e.description);
      await assert.rejects(bot.api.sendMessage(u.id, 'я'.repeat(4097)), isBad(/^Bad Request: message is too long$/));
      // 4096 characters after HTML parsing is fine even though the source is longer
      await bot.api.sendMessage(u.id, `<b>${'я'.repeat(4096)}</b>`, { parse_mode: 'HTML' });
      await assert.rejects(bot.api.sendMessage(u.id, 'line<br>break', { parse_mode: 'HTML' }), isBad(/can't parse entities: Unsupported start tag "br"/));
      await assert.rejects(bot.api.sendMessage(u.id, 'Price 10.5', { parse_mode: 'MarkdownV2' }), isBad(/Character '\.' is reserved/));
      await assert.rejects(bot.api.sendMessage(u.id, ''), isBad(/message text is empty/));
      await assert.rejects(bot.api.sendPhoto(u.id, new InputFile(fakePng()), { caption: 'c'.repeat(1025) }), isBad(/message caption is too long/));
      await assert.rejects(bot.api.sendPhoto(u.id, new InputFile(Buffer.alloc(2048, 1))), isBad(/file is too big/));
      await assert.rejects(bot.api.sendMessage(u.id, 'x', { reply_markup: { inline_keyboard: [[{ text: 'a', callback_data: 'z'.repeat(65) }]] } }), isBad(/BUTTON_DATA_INVALID/));
      await assert.rejects(bot.api.sendMessage(424242, 'x'), isBad(/chat not found/));
      const stranger = tg.user(2222);
      await assert.rejects(bot.api.sendMessage(stranger.id, 'x'), isBad(/bot can't initiate conversation/, 403));

      u.block();
      await assert.rejects(bot.api.sendMessage(u.id, 'x'), isBad(/^Forbidden: bot was blocked by the user$/, 403));
      assert.equal(tg.updates.at(-1)!.my_chat_member?.new_chat_member.status, 'kicked');
      u.unblock();

      // user file over the download limit
      const big = u.sendDocument(Buffer.from('tiny'), { fileName: 'big.zip', fileSize: 25 * 1024 * 1024 });
      await assert.rejects(bot.api.getFile(big.document!.file_id), isBad(/^Bad Request: file is too big$/));

      // injected 403 / 500 / network
      tg.failNext('sendMessage', { code: 403 });
      await assert.rejects(bot.api.sendMessage(u.id, 'x'), isBad(/bot was blocked by the user/, 403));
      tg.failNext('sendMessage', { code: 400, description: 'Bad Request: message is not modified' });
      await assert.rejects(bot.api.sendMessage(u.id, 'x'), isBad(/message is not modified/));
      tg.failNext('*', { network: true });
      await assert.rejects(bot.api.sendChatAction(u.id, 'typing'), (e: unknown) => e instanceof HttpError);
      // "processed" failure: the message is delivered but the bot sees a 500
      const before = u.messages().length;
      tg.failNext('sendMessage', { code: 500, processed: true });
      await assert.rejects(bot.api.sendMessage(u.id, 'dup?'), isBad(/Internal Server Error/, 500));
      assert.equal(u.messages().length, before + 1);
    },
    { limits: { maxPhotoUploadBytes: 1024 } },
  );
});

test('chaos is deterministic for a seed; setMyCommands / sendChatAction / sendMediaGroup', async () => {
  await withFake(async (tg, bot) => {
    const u = tg.user(3333, { started: true });
    await bot.api.setMyCommands([{ command: 'start', description: 'Начать' }]);
    assert.deepEqual(tg.commands(), [{ command: 'start', description: 'Начать' }]);
    await bot.api.setMyCommands([{ command: 'start', description: 'Start' }], { language_code: 'en' });
    assert.deepEqual(await bot.api.getMyCommands({ language_code: 'en' }), [{ command: 'start', description: 'Start' }]);
    await bot.api.sendChatAction(u.id, 'upload_photo');
    assert.equal(u.chatActions()[0]!.action, 'upload_photo');

    const group = await bot.api.sendMediaGroup(u.id, [
      { type: 'photo', media: new InputFile(fakePng(100, 100)), caption: 'first' },
      { type: 'photo', media: new InputFile(fakePng(200, 100)) },
    ]);
    assert.equal(group.length, 2);
    const groupIds = group.map((m) => (m as { media_group_id?: string }).media_group_id);
    assert.ok(groupIds[0] && groupIds[0] === groupIds[1]);
    assert.equal(u.messages().filter((m) => m.media_group_id).length, 2);

    const outcome = async (seed: number) => {
      tg.chaos({ rate: 0.5, codes: [429, 500], seed, retryAfter: 1 });
      const res: number[] = [];
      for (let i = 0; i < 10; i++) {
        try {
          await bot.api.sendMessage(u.id, `m${i}`);
          res.push(200);
        } catch (e) {
          res.push((e as GrammyError).error_code);
        }
      }
      tg.chaos(null);
      return res;
    };
    const a = await outcome(42);
    const b = await outcome(42);
    assert.deepEqual(a, b);
    assert.ok(a.some((c) => c !== 200) && a.some((c) => c === 200));
  });
});

test('multipart parser accepts grammY dialect (no spaces, unquoted filename)', () => {
  const body = Buffer.from(
    '--XX\r\ncontent-disposition:form-data;name="chat_id"\r\n\r\n5\r\n--XX\r\ncontent-disposition:form-data;name="abc";filename=my photo.jpg\r\ncontent-type:application/octet-stream\r\n\r\n\x00\x01\r\n\x02\r\n--XX--\r\n',
    'latin1',
  );
  const parts = parseMultipart(body, 'XX');
  assert.equal(parts.length, 2);
  assert.deepEqual(parts[0], { kind: 'field', name: 'chat_id', value: '5' });
  const f = parts[1]!;
  assert.equal(f.kind, 'file');
  if (f.kind === 'file') {
    assert.equal(f.filename, 'my photo.jpg');
    assert.deepEqual([...f.data], [0, 1, 13, 10, 2]);
  }
});

test('parse modes: HTML / MarkdownV2 / Markdown → plain text + UTF-16 entity offsets', () => {
  let r = applyParseMode('Hi 👋 <b>bold &amp; <i>both</i></b> <a href="https://x.y/?a=1&amp;b=2">link</a> &lt;tag&gt; <pre><code class="language-ts">let a</code></pre>', 'HTML');
  assert.equal(r.text, 'Hi 👋 bold & both link <tag> let a');
  assert.deepEqual(r.entities, [
    { type: 'bold', offset: 6, length: 11 },
    { type: 'italic', offset: 13, length: 4 },
    { type: 'text_link', offset: 18, length: 4, url: 'https://x.y/?a=1&b=2' },
    { type: 'pre', offset: 29, length: 5, language: 'ts' },
  ]);
  assert.throws(() => applyParseMode('<b>open', 'HTML'), /Can't find end tag corresponding to start tag "b"/);
  assert.throws(() => applyParseMode('<b><i>x</b></i>', 'HTML'), /Unmatched end tag at byte offset 7, expected "<\/i>", found "<\/b>"/);

  r = applyParseMode('*bold* _it_ __under__ ~s~ ||sp|| `c\\`` [l\\]nk](https://e.com/\\)) 1\\.5 \\- ok', 'MarkdownV2');
  assert.equal(r.text, 'bold it under s sp c` l]nk 1.5 - ok');
  assert.deepEqual(
    r.entities.map((e) => e.type),
    ['bold', 'italic', 'underline', 'strikethrough', 'spoiler', 'code', 'text_link'],
  );
  assert.equal((r.entities[6] as { url?: string }).url, 'https://e.com/)');
  assert.throws(() => applyParseMode('a-b', 'MarkdownV2'), /Character '-' is reserved and must be escaped with the preceding '\\'/);
  assert.throws(() => applyParseMode('*unclosed', 'MarkdownV2'), /Can't find end of Bold entity at byte offset 0/);

  r = applyParseMode('*b* _i_ `c` [t](http://u) 1.5-2', 'Markdown');
  assert.equal(r.text, 'b i c t 1.5-2');
  assert.throws(() => applyParseMode('snake_case', 'Markdown'), /Can't find end of the entity starting at byte offset 5/);
});

test('webhook: timeouts are retried, webhook replies are executed, updates dropped after maxAttempts', async () => {
  await withFake(
    async (tg, bot) => {
      let n = 0;
      const server = http.createServer(async (req, res) => {
        n++;
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const update = JSON.parse(Buffer.concat(chunks).toString());
        const text: string = update.message?.text ?? '';
        if (text === 'slow' && n === 1) return; // never answer → read timeout
        if (text === 'dead') {
          res.writeHead(502).end();
          return;
        }
        // webhook reply: the method in the response body is executed by Telegram
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: 'sendMessage', chat_id: update.message.chat.id, text: `re: ${text}` }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        await bot.api.setWebhook(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
        const u = tg.user(4242);
        u.sendText('slow');
        await u.waitForMessage((m) => m.text === 're: slow', 3000);
        const ds = tg.webhookDeliveries;
        assert.equal(ds[0]!.error, 'Read timeout expired');
        assert.equal(ds[1]!.ok, true);
        assert.equal(tg.calls.find((c) => c.viaWebhookReply)?.method, 'sendMessage');

        u.sendText('dead');
        await tg.waitFor(() => tg.webhookDeliveries.filter((d) => d.status === 502).length === 3, 3000, 'three attempts');
        await tg.waitFor(() => tg.pendingUpdates().length === 0, 1000, 'dropped');
        assert.match(tg.webhookInfo().last_error_message ?? '', /502/);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    },
    { webhook: { timeoutMs: 200, retryDelayMs: 10, maxAttempts: 3 } },
  );
});

test('optional flood-limit emulation answers 429 per chat', async () => {
  await withFake(
    async (tg, bot) => {
      const u = tg.user(5151, { started: true });
      await bot.api.sendMessage(u.id, '1');
      await bot.api.sendMessage(u.id, '2');
      await assert.rejects(bot.api.sendMessage(u.id, '3'), (e: unknown) => e instanceof GrammyError && e.error_code === 429 && e.parameters.retry_after === 1);
      await bot.api.sendChatAction(u.id, 'typing'); // not a message
      assert.equal(tg.successCount('sendMessage', u.id), 2);
    },
    { rateLimit: { perChatPerSecond: 2 } },
  );
});
