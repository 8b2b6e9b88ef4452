// The optional AI copywriter (issue 4 item 8) against a fake OpenRouter over real HTTP,
// with the shared limiter on real Postgres: improved copy reaches the set's infographic end to end,
// 429 + Retry-After, 5xx retries, timeouts and bad output all fall back to the seller's
// words, the limiter is shared across instances, and the key never reaches the logs.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after as afterAll, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { aiFromConfig, createCopyProvider, SharedLimiter, type CopyProvider } from '../src/ai/index.ts';
import { FEATURE_MAX_CHARS, FEATURES_MAX, TITLE_MAX_CHARS } from '../src/cards/index.ts';
import { composeSet } from '../src/cards/index.ts';
import { samplePhoto } from '../src/cards/sample.ts';
import { loadConfig } from '../src/config.ts';
import { postgresLimits } from './support/stores.ts';
import { waitFor } from './support/wait.ts';
import { createLogger, type Logger } from '../src/log.ts';
import { startApp, type RunningApp } from '../src/main.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { startFakeOpenRouter, type FakeOpenRouter } from './support/fake-openrouter.ts';
import { sniffImage, startFakeTelegram, type FakeTelegram } from './support/fake-telegram.ts';
import { TOKEN, botEnv, confirmAndPick, fillOrder } from './support/bot.ts';
import { unzip } from './support/unzip.ts';

const KEY = 'sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef';
const SELLER = { title: 'Кружка керамическая 350 мл', features: ['Объём 350 мл', 'Можно в посудомойку', 'Подарочная коробка'] };

/** pino into memory, so tests can read every line that was logged. */
function memoryLogger(level = 'debug'): { log: Logger; text: () => string } {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { log: createLogger({ level, destination: destination as never }), text: () => lines.join('') };
}

let db: TestDb;
let or: FakeOpenRouter;
const logs = memoryLogger();
before(async () => {
  db = await createTestDb();
  or = await startFakeOpenRouter({ key: KEY });
});
afterAll(async () => {
  await or?.close();
  await db?.drop();
});

/** A provider as one instance would build it, on its own limiter key so tests do not share budgets. */
function provider(limiterKey: string, o: Partial<Parameters<typeof createCopyProvider>[0]> = {}, sql: postgres.Sql = db.sql): CopyProvider {
  return createCopyProvider({
    baseUrl: or.baseUrl, apiKey: KEY, model: 'openai/gpt-4o-mini',
    limiter: new SharedLimiter(postgresLimits(sql), { perMinute: 100, perHour: 5000, perDay: 100_000 }, limiterKey),
    timeoutMs: 2_000, backoffMs: 50, ...o,
  });
}

describe('end to end through the bot', () => {
  let tg: FakeTelegram;
  let app: RunningApp;
  let photo: Buffer;
  before(async () => {
    photo = await samplePhoto(800, 800);
    tg = await startFakeTelegram({ token: TOKEN });
    const env = botEnv(db.url, tg, {
      TELEGRAM_THROTTLE: 'false', LOG_LEVEL: 'debug',
      OPENROUTER_API_KEY: KEY, OPENROUTER_BASE_URL: or.baseUrl, AI_TIMEOUT_MS: '3000',
    });
    const config = loadConfig(env);
    app = await startApp(config, logs.log.child({ instance: config.instanceId }), {});
  });
  afterAll(async () => {
    await app?.stop();
    await tg?.close();
  });

  async function order(userId: number) {
    const u = tg.user(userId, { languageCode: 'ru' });
    const got = await confirmAndPick(u, await fillOrder(u, photo), 1);
    const [{ id }] = await db.sql`select id::int from public.orders where user_id = ${userId}`;
    // The set job enqueues the delivery before it returns, and its own outcome is
    // recorded in the next completion batch: the zip can arrive a few ms before that.
    const [job] = await waitFor(async () => {
      const rows = await db.sql`select j.result, j.status from public.orders o join public.jobs j on j.id = o.set_job_id where o.id = ${id}`;
      return rows[0]?.status === 'running' ? null : rows;
    }, 5_000, 'the set job to be recorded');
    const [cut] = await db.sql`select bytes from public.order_images where order_id = ${id} and role = 'cutout'`;
    const [main] = await db.sql`select bytes from public.order_images where order_id = ${id} and role = 'main'`;
    /** The infographic slide the set would show with these words. */
    const slideWith = async (words: { title: string; features: string[] }) =>
      (await composeSet({ cutPng: cut.bytes, mainJpeg: main.bytes, ...words, price: '990', template: 'bold', marketplace: 'wb' }))[1].jpeg;
    const [render] = await db.sql`select j.result from public.orders o join public.jobs j on j.id = o.render_job_id where o.id = ${id}`;
    const calls = await db.sql`select call_key, state from public.ai_calls where order_key = ${`order:${id}`} order by call_key`;
    return { u, id, entries: unzip(got.zip.bytes!), result: job.result, status: job.status, slideWith, render: render.result, calls };
  }
  /** The copywriter's calls (the backdrops' image calls go to the same fake provider). */
  const copyCalls = () => or.requests.filter((r) => !Array.isArray(r.body?.modalities)).length;

  test('the improved title and features are what the card shows', async () => {
    or.reset();
    const { id, entries, result, status, slideWith, render, calls } = await order(2001);
    // With a key the bot's variants use AI backdrops as API cards do: one paid call per variant, keyed by the order.
    assert.deepEqual(render.sources, ['provided', 'provided', 'provided']);
    assert.deepEqual(calls.map((c) => [c.call_key, c.state]), [1, 2, 3].map((n) => [`order:${id}:v${n}:backdrop`, 'done']));
    assert.equal(status, 'succeeded');
    const improved = or.improve(SELLER);
    assert.equal(result.copy, 'ai');
    assert.equal(result.title, improved.title);
    assert.deepEqual(result.features, improved.features);
    // one call, with the seller's words, the model and the JSON response format; no photo sent
    assert.equal(copyCalls(), 1);
    const body = or.requests.find((r) => !Array.isArray(r.body?.modalities))!.body;
    assert.equal(body.model, 'openai/gpt-4o-mini');
    assert.equal(body.response_format.type, 'json_schema');
    assert.deepEqual(JSON.parse(body.messages.at(-1).content), { ...SELLER, price: '990' });
    assert.ok(JSON.stringify(body).length < 5000, 'the photo is never sent to the provider');
    // the delivered infographic slide is exactly the set's with the improved words
    assert.deepEqual(sniffImage(entries[1].data), { format: 'jpeg', width: 900, height: 1200 });
    assert.ok(entries[1].data.equals(await slideWith(improved)), 'slide made with the AI copy');
    assert.ok(!entries[1].data.equals(await slideWith(SELLER)));
  });

  test('a provider that keeps failing costs no order: the card carries the seller\'s words', async () => {
    or.reset();
    or.fallback = { kind: '500' };
    const { entries, result, status, slideWith } = await order(2002);
    assert.equal(status, 'succeeded');
    assert.equal(result.copy, 'seller');
    assert.equal(result.copyFallback, 'server_error');
    assert.equal(copyCalls(), 3, 'one call and two retries');
    assert.ok(entries[1].data.equals(await slideWith(SELLER)), 'slide made with the seller\'s words');
    or.reset();
  });

  test('the key never appears in the logs; the outcome does', () => {
    const text = logs.text();
    assert.ok(text.length > 0);
    assert.ok(!text.includes(KEY), 'API key logged');
    assert.ok(!text.includes(KEY.slice(10, 40)), 'part of the API key logged');
    assert.match(text, /ai copy used/);
    assert.match(text, /"reason":"server_error"/);
  });
});

describe('provider failure rules', () => {
  test('429 with a short Retry-After is waited out, then the copy is used', async () => {
    or.reset();
    or.script({ kind: '429', retryAfter: '1' });
    const t0 = Date.now();
    const r = await provider('t429a').improve(SELLER, { log: logs.log });
    assert.equal(r.source, 'ai');
    assert.equal(or.calls(), 2);
    assert.ok(or.requests[1].at - or.requests[0].at >= 950, `waited ${or.requests[1].at - or.requests[0].at} ms`);
    assert.ok(Date.now() - t0 < 3000);
  });

  test('429 with a long Retry-After gives up at once for this card', async () => {
    or.reset();
    or.script({ kind: '429', retryAfter: '120' });
    const t0 = Date.now();
    const r = await provider('t429b', { maxRetryAfterMs: 5000 }).improve(SELLER, { log: logs.log });
    assert.equal(r.source, 'seller');
    assert.equal(r.source === 'seller' && r.reason, 'rate_limited');
    assert.deepEqual(r.copy, SELLER);
    assert.equal(or.calls(), 1);
    assert.ok(Date.now() - t0 < 1000);
  });

  test('429 with an HTTP-date Retry-After is honoured too', async () => {
    or.reset();
    or.script({ kind: '429', retryAfter: new Date(Date.now() + 2000).toUTCString() });
    const r = await provider('t429c').improve(SELLER);
    assert.equal(r.source, 'ai');
    assert.ok(or.requests[1].at - or.requests[0].at >= 500);
  });

  test('500s are retried with backoff, then the seller\'s words', async () => {
    or.reset();
    or.script({ kind: '500' }, { kind: '503' }, { kind: '500' }, { kind: 'ok' });
    const r = await provider('t500a').improve(SELLER);
    assert.equal(r.source, 'seller');
    assert.equal(r.source === 'seller' && r.reason, 'server_error');
    assert.deepEqual(r.copy, SELLER);
    assert.equal(or.calls(), 3, '1 call + 2 retries, no more');

    or.reset();
    or.script({ kind: '500' }, { kind: 'ok' });
    const ok = await provider('t500b').improve(SELLER);
    assert.equal(ok.source, 'ai');
    assert.equal(ok.attempts, 2);
  });

  test('a slow answer times out and falls back', async () => {
    or.reset();
    or.script({ kind: 'slow', ms: 5000 });
    const t0 = Date.now();
    const r = await provider('tslow', { timeoutMs: 400 }).improve(SELLER);
    const ms = Date.now() - t0;
    assert.equal(r.source, 'seller');
    assert.equal(r.source === 'seller' && r.reason, 'timeout');
    assert.ok(ms >= 350 && ms < 1500, `took ${ms} ms`);
    assert.equal(or.calls(), 1, 'a timeout is not retried');
  });

  test('invalid model output falls back; valid output is clamped to the renderer\'s limits', async () => {
    for (const content of ['Sure! Here is your copy: great mug', '{"name": "x"}', '{"title": "", "features": []}', '{"title": 5}']) {
      or.reset();
      or.script({ kind: 'content', content });
      const r = await provider('tbad').improve(SELLER);
      assert.equal(r.source, 'seller', content);
      assert.equal(r.source === 'seller' && r.reason, 'bad_response');
      assert.deepEqual(r.copy, SELLER);
    }
    or.reset();
    or.script({ kind: 'content', content: '```json\n' + JSON.stringify({ title: 'Очень '.repeat(30) + '🎉', features: Array.from({ length: 8 }, (_, i) => `${i} ` + 'долго '.repeat(30)) }) + '\n```' });
    const r = await provider('tclamp').improve(SELLER);
    assert.equal(r.source, 'ai');
    assert.ok([...r.copy.title].length <= TITLE_MAX_CHARS);
    assert.ok(!r.copy.title.includes('🎉'));
    assert.equal(r.copy.features.length, FEATURES_MAX);
    for (const f of r.copy.features) assert.ok([...f].length <= FEATURE_MAX_CHARS);
  });

  test('a wrong key is refused by the fake (401) and falls back without retrying', async () => {
    or.reset();
    const p = createCopyProvider({
      baseUrl: or.baseUrl, apiKey: 'sk-or-v1-wrong-key-wrong-key-wrong', model: 'm',
      limiter: new SharedLimiter(postgresLimits(db.sql), undefined, 't401'), timeoutMs: 1000,
    });
    const r = await p.improve(SELLER, { log: logs.log });
    assert.equal(r.source === 'seller' && r.reason, 'rejected');
    assert.equal(or.requests.length, 1);
    assert.equal(or.requests[0].status, 401);
  });
});

describe('shared limiter', () => {
  test('two instances share one window: exactly N calls, the rest fall back without calling', async () => {
    or.reset();
    // Two "instances": separate connections, each with its own limiter object.
    const sqlA = postgres(db.url, { max: 2, onnotice: () => {} });
    const sqlB = postgres(db.url, { max: 2, onnotice: () => {} });
    try {
      const limits = { perMinute: 100, perHour: 100, perDay: 3 }; // the day window: no rollover mid-test
      const mk = (sql: postgres.Sql) => createCopyProvider({
        baseUrl: or.baseUrl, apiKey: KEY, model: 'm', timeoutMs: 2000,
        limiter: new SharedLimiter(postgresLimits(sql), limits, 'tshared'),
      });
      const a = mk(sqlA);
      const b = mk(sqlB);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).improve(SELLER)));
      assert.equal(results.filter((r) => r.source === 'ai').length, 3);
      const skipped = results.filter((r) => r.source === 'seller');
      assert.equal(skipped.length, 7);
      for (const r of skipped) assert.equal(r.source === 'seller' && r.reason, 'limiter');
      assert.equal(or.calls(), 3, 'the provider saw exactly N calls');
      const rows = await db.sql`select window_seconds, calls from public.rate_usage where key = 'tshared' order by window_seconds`;
      assert.deepEqual(rows.map((r) => [r.window_seconds, r.calls]), [[60, 3], [3600, 3], [86400, 3]]);
    } finally {
      await sqlA.end();
      await sqlB.end();
    }
  });

  test('configured limits are applied with rate_set; the seed 002 defaults otherwise', async () => {
    const env = { DATABASE_URL: db.url, OPENROUTER_API_KEY: KEY, AI_RATE_PER_MINUTE: '7' };
    const ai = aiFromConfig(loadConfig(env), postgresLimits(db.sql))!;
    await ai.limiter.apply();
    const rows = await db.sql`select window_seconds, max_calls from public.rate_limits where key = 'ai' order by window_seconds`;
    assert.deepEqual(rows.map((r) => [r.window_seconds, r.max_calls]), [[60, 7], [3600, 5000], [86400, 100000]]);
    assert.equal(aiFromConfig(loadConfig({ DATABASE_URL: db.url }), postgresLimits(db.sql)), null, 'no key, no provider');
  });

  test('no key and no secret in any log line of this file', () => {
    const text = logs.text();
    assert.ok(!text.includes(KEY));
    assert.ok(!text.includes('sk-or-v1-wrong-key'));
  });
});
