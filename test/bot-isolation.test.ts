// Issue 13, items 3-5: one chat whose every send fails (500, or a dropped connection)
// must not hold up other chats in polling mode, must not be retried without end, and
// must not keep a SIGTERM'd instance alive past SHUTDOWN_GRACE_MS + 5 s.
import assert from 'node:assert/strict';
import { after as afterAll, before, describe, test } from 'node:test';
import { samplePhoto } from '../src/cards/sample.ts';
import { loadConfig } from '../src/config.ts';
import { PostgresStore } from '../src/db/postgres.ts';
import { createLogger } from '../src/log.ts';
import { startApp, type RunningApp } from '../src/main.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { startFakeTelegram, type FailSpec, type FakeTelegram } from './support/fake-telegram.ts';
import { spawnCli, type Proc } from './support/procs.ts';
import { after, botEnv, buttons, startBotApp, TOKEN } from './support/bot.ts';
import { waitFor } from './support/wait.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const failedCallsTo = (tg: FakeTelegram, chatId: number) => tg.calls.filter((c) => c.chatId === chatId && !c.ok).length;

describe('polling: chats run concurrently, each chat in order', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  let app: RunningApp;
  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
    // Production settings (throttler on); a budget far longer than the test, so no answer
    // below can come from the failing chat giving up.
    app = await startBotApp(db.url, tg, { TELEGRAM_UPDATE_BUDGET_MS: '120000' }, { worker: false });
    await waitFor(async () => app.telegram.runner()?.isPolling(), 15_000, 'this instance to poll');
  });
  afterAll(async () => {
    await app?.stop();
    await tg?.close();
    await db?.drop();
  });

  test('a chat answering 500 to every send delays no other chat\'s /start by 5 s; a chat\'s own updates stay in order', { timeout: 90_000 }, async () => {
    const BAD = 5001;
    const bad = tg.user(BAD, { languageCode: 'en' });
    tg.failChat(BAD, { code: 500 });
    const stuckSince = Date.now();
    bad.sendCommand('/start');
    await tg.waitFor(() => failedCallsTo(tg, BAD) >= 1, 10_000, 'the failing chat to be in retries');

    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      bad.sendCommand('/help'); // more work queued behind the stuck one, in its own chat
      const u = tg.user(5100 + i, { languageCode: 'en' });
      const t0 = Date.now();
      const reply = await after(u, () => u.sendCommand('/start'), undefined, 10_000);
      waits.push(Date.now() - t0);
      assert.match(reply.text!, /^Hi, /);
    }
    // Meanwhile chat BAD's handler is still in its retries (the budget is 120 s).
    assert.ok(Date.now() - stuckSince < 60_000);
    assert.equal(bad.messages().length, 0, 'nothing reached the failing chat');
    assert.ok(failedCallsTo(tg, BAD) >= 1);
    console.log(`# another chat's /start while one chat fails every send: answered in ${waits.join(', ')} ms (median ${median(waits)}, max ${Math.max(...waits)})`);
    assert.ok(Math.max(...waits) < 5_000, `answered within 5 s (${waits.join(', ')} ms)`);

    // One chat's updates, sent back to back without waiting for answers, are handled in
    // order: each step of the conversation depends on the one before (the photo's handler
    // downloads the file, so a title handled concurrently would overtake it).
    const u = tg.user(5200, { languageCode: 'en' });
    u.sendCommand('/start');
    u.sendPhoto(await samplePhoto(600, 600));
    u.sendText('Ceramic mug 350 ml');
    u.sendText('Volume 350 ml\nDishwasher safe');
    u.sendText('990');
    const market = await u.waitForMessage((m) => buttons(m).some((b) => b.startsWith('mp:')), 20_000);
    assert.match(market.text ?? '', /^Which marketplace/, 'the marketplace choice comes last');
    // The cut-out preview (a picture, or a line saying the photo will be framed) comes right
    // after the photo; the conversation's own questions follow in order.
    const all = u.messages();
    const preview = all.findIndex((m) => m.kind === 'photo' || /framed as is/.test(m.text ?? ''));
    const texts = all.filter((m, i) => m.kind === 'text' && i !== preview).map((m) => m.text!);
    assert.equal(texts.length, 5, texts.join(' | '));
    assert.match(texts[0], /^Hi, /);
    assert.ok(preview > 0 && preview < all.findIndex((m) => /^Got the photo/.test(m.text ?? '')), 'the preview comes before the title question');
    assert.match(texts[1], /^Got the photo/);
    assert.match(texts[2], /^Key features/);
    assert.match(texts[3], /^Price in ₽/);
    assert.match(texts[4], /^Which marketplace/);
  });
});

describe('every Telegram call of an update has a time budget', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  let app: RunningApp;
  const lines: Record<string, any>[] = [];
  const BUDGET_MS = 1_500;
  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
    const env = botEnv(db.url, tg, { TELEGRAM_UPDATE_BUDGET_MS: String(BUDGET_MS), LOG_LEVEL: 'info' });
    const config = loadConfig(env);
    const log = createLogger({ level: 'info', destination: { write: (s: string) => { lines.push(JSON.parse(s)); } } });
    app = await startApp(config, log, { worker: false });
    await waitFor(async () => app.telegram.runner()?.isPolling(), 15_000, 'this instance to poll');
  });
  afterAll(async () => {
    await app?.stop();
    await tg?.close();
    await db?.drop();
  });

  const cases: [string, FailSpec][] = [['answers 500', { code: 500 }], ['drops the connection', { network: true }]];
  for (const [i, [what, spec]] of cases.entries()) {
    test(`a chat whose Telegram ${what} to every send: the update is given up after the budget, with a log line, and not retried`, { timeout: 30_000 }, async () => {
      const chat = 6001 + i;
      const u = tg.user(chat, { languageCode: 'en' });
      tg.failChat(chat, spec);
      const t0 = Date.now();
      u.sendCommand('/start');
      const update = tg.updates.at(-1)!.update_id;
      const isGiveUp = (o: Record<string, any>) => o.update === update && o.msg === 'Telegram calls over the update budget; update given up';
      await waitFor(async () => lines.find(isGiveUp), 15_000, 'the give-up log line');
      const tookMs = Date.now() - t0;
      const gaveUp = lines.find(isGiveUp)!;
      assert.equal(gaveUp.budgetMs, BUDGET_MS);
      assert.equal(gaveUp.level, 40);
      await waitFor(async () => lines.find((o) => o.update === update && o.msg === 'bot handler failed'), 5_000, 'the handler to end');
      console.log(`# Telegram ${what}: update given up ${tookMs} ms after it was sent (budget ${BUDGET_MS} ms)`);
      assert.ok(tookMs >= BUDGET_MS - 100 && tookMs < BUDGET_MS + 3_000, `given up after ${tookMs} ms`);
      // Auto-retry's next attempt would come 3 s after the first; none comes any more.
      const calls = tg.calls.filter((c) => c.chatId === chat).length;
      await new Promise((r) => setTimeout(r, 4_000));
      assert.equal(tg.calls.filter((c) => c.chatId === chat).length, calls, 'no call to that chat after giving up');
      // The chat recovers: its next update is answered.
      tg.failChat(chat, null);
      assert.match((await after(u, () => u.sendCommand('/help'))).text!, /\/history/);
    });
  }
});

describe('SIGTERM with a handler stuck in Telegram retries and a backlog of running jobs', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  let store: PostgresStore;
  const procs: Proc[] = [];
  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
    store = new PostgresStore({ url: db.url, poolSize: 2, prepare: true });
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await store?.close();
    await tg?.close();
    await db?.drop();
  });

  test('exits 0 within SHUTDOWN_GRACE_MS + 5 s and leaves no job running', { timeout: 90_000 }, async () => {
    const GRACE_MS = 3_000;
    const app = spawnCli(['start'], {
      ...botEnv(db.url, tg, { LOG_LEVEL: 'info' }), INSTANCE_ID: 'stuck',
      SHUTDOWN_GRACE_MS: String(GRACE_MS), JOB_CONCURRENCY: '4', TELEGRAM_UPDATE_BUDGET_MS: '120000',
    });
    procs.push(app);
    await app.waitForJson((o: { msg?: string }) => o.msg === 'polling leader: this instance polls Telegram', 30_000);
    await app.waitForJson((o: { msg?: string }) => o.msg === 'worker pool started', 30_000);

    // Jobs that outlive the grace (as a render waiting on the AI provider would), and a backlog.
    const slow = await store.enqueue(Array.from({ length: 12 }, () => ({ kind: 'noop', payload: { ms: 60_000 } })));
    await waitFor(async () => {
      const [r] = await db.sql`select count(*)::int as n from public.jobs where status = 'running' and lease_owner = 'stuck'`;
      return r.n >= 4; // 4 in flight, plus any claimed ahead of free slots
    }, 15_000, 'four jobs running');

    // Two chats whose every send fails: 500s (auto-retry backs off 3, 6, 12 … s) and dropped
    // connections (auto-retry retries those without limit).
    for (const [chat, spec] of [[7001, { code: 500 }], [7002, { network: true }]] as const) {
      tg.failChat(chat, spec);
      tg.user(chat, { languageCode: 'en' }).sendCommand('/start');
      await tg.waitFor(() => failedCallsTo(tg, chat) >= 1 || tg.calls.some((c) => c.chatId === chat && c.status === -1), 10_000, `chat ${chat} in retries`);
    }

    const t0 = Date.now();
    app.child.kill('SIGTERM');
    const exit = await Promise.race([app.exited, new Promise<null>((r) => setTimeout(() => r(null), GRACE_MS + 15_000))]);
    const stopMs = Date.now() - t0;
    assert.ok(exit, `still running ${stopMs} ms after SIGTERM`);
    console.log(`# SIGTERM with 2 handlers stuck in Telegram retries and 4 running + 8 queued jobs: exited ${exit.code} after ${stopMs} ms (SHUTDOWN_GRACE_MS ${GRACE_MS})`);
    assert.equal(exit.code, 0);
    assert.ok(stopMs < GRACE_MS + 5_000, `stopped in ${stopMs} ms`);

    const json = app.lines.map((l) => { try { return JSON.parse(l); } catch { return {}; } });
    assert.ok(json.some((o) => o.msg === 'shutdown grace over: abandoning the bot handlers still running'), 'the stuck handlers were abandoned, not waited for');
    const stopped = json.find((o) => o.msg === 'worker pool stopped');
    // The 4 running ones, and any claimed ahead of free slots (the pool may hold a few more).
    assert.equal(stopped.finished, 0);
    assert.ok(stopped.released >= 4, `released ${stopped.released}`);
    const rows = await db.sql`select status, attempts from public.jobs where id = any(${slow.map((j) => j.id)}::bigint[])`;
    assert.equal(rows.filter((r) => r.status === 'running').length, 0, 'no job left running');
    assert.ok(rows.every((r) => r.status === 'queued'), JSON.stringify(rows));
    assert.ok(rows.every((r) => r.attempts === 0), `handed back without spending an attempt: ${JSON.stringify(rows)}`);
  });
});
