// Cards over HTTP (issue 8), over real HTTP and real Postgres: the whole flow for 50
// concurrent clients, idempotent retries, keys that cannot see each other's jobs, every
// error status, the stats against the jobs table, the apikey CLI, and results in a
// (fake) Supabase Storage bucket.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { ApiDb } from '../src/api/db.ts';
import { postgresRpc } from '../src/db/rpc/postgres.ts';
import { restRpc } from './support/stores.ts';
import { ApiError } from '../src/api/errors.ts';
import { fetchPhoto } from '../src/api/fetch-photo.ts';
import { createKey, hashKey } from '../src/api/keys.ts';
import { SupabaseResultStore } from '../src/api/storage.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startApp, type RunningApp } from '../src/main.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { startFakeStorage, type FakeStorage } from './support/fake-storage.ts';
import { startPgProxy, type PgProxy } from './support/pg-proxy.ts';
import { startPostgrest } from './support/postgrest.ts';
import { spawnCli } from './support/procs.ts';

const log = createLogger({ level: 'silent' });
const SERVICE_KEY = 'fake-service-role-key-0123456789';

describe('HTTP API /api', () => {
  let db: TestDb;
  let proxy: PgProxy;
  let app: RunningApp;
  let base: string;
  let apiDb: ApiDb;
  let keyA: string;
  let keyB: string;
  let photo: Buffer;
  let files: Server;
  let filesUrl: string;
  const big = Buffer.alloc(3 * 1024 * 1024, 7);

  const cli = async (args: string[]) => {
    const p = spawnCli(args, { DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    const { code } = await p.exited;
    return { code, out: p.lines.join('\n') };
  };
  const auth = (key: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...extra });
  const form = (fields: Record<string, string | string[]>, file: Buffer | null = photo, type = 'image/jpeg') => {
    const f = new FormData();
    if (file) f.append('photo', new Blob([new Uint8Array(file)], { type }), 'photo.jpg');
    for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) f.append(k, x);
    return f;
  };
  const create = (key: string, body: FormData | object, headers: Record<string, string> = {}) => fetch(`${base}/api/cards`, {
    method: 'POST',
    headers: body instanceof FormData ? auth(key, headers) : auth(key, { 'content-type': 'application/json', ...headers }),
    body: body instanceof FormData ? body : JSON.stringify(body),
  });
  const errorOf = async (res: Response, status: number, code?: string) => {
    const body = await res.json() as { error: { code: string; message: string } };
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(typeof body.error.message, 'string');
    if (code) assert.equal(body.error.code, code);
    return body.error;
  };
  /** Create → poll → download; returns ms from create to having the JPEG. */
  const flow = async (key: string, i: number, pollMs = 50) => {
    const t0 = performance.now();
    const res = await create(key, form({
      title: `Товар ${i}`, features: ['Прочный', 'Лёгкий'], price: '1990', template: ['clean', 'bold', 'promo'][i % 3],
      marketplace: i % 2 ? 'ozon' : 'wb', variant: String((i % 3) + 1),
    }));
    assert.equal(res.status, 202);
    const created = await res.json() as { id: string; status: string; position: number; estimatedSeconds: number };
    assert.equal(created.status, 'queued');
    assert.ok(created.position >= 1 && created.estimatedSeconds >= 1);
    let card: { status: string; resultUrl: string | null; attempts: number };
    for (;;) {
      const r = await fetch(`${base}/api/cards/${created.id}`, { headers: auth(key) });
      assert.equal(r.status, 200);
      card = await r.json() as typeof card;
      if (card.status === 'succeeded' || card.status === 'dead') break;
      await sleep(pollMs);
    }
    assert.equal(card.status, 'succeeded');
    const img = await fetch(card.resultUrl!, { headers: auth(key) });
    assert.equal(img.status, 200);
    assert.equal(img.headers.get('content-type'), 'image/jpeg');
    const jpeg = Buffer.from(await img.arrayBuffer());
    const meta = await sharp(jpeg).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 900, 1200]);
    return { id: created.id, ms: performance.now() - t0 };
  };

  before(async () => {
    db = await createTestDb();
    proxy = await startPgProxy();
    process.env.API_ALLOW_PRIVATE_URLS = 'true'; // the photo server below is on loopback
    process.env.API_MAX_PHOTO_MB = '2';
    const config = loadConfig({ DATABASE_URL: proxy.urlFor(db.url), PORT: '0', INSTANCE_ID: 'api-test', JOB_CONCURRENCY: '8' });
    app = await startApp(config, log, { bot: false });
    base = `http://127.0.0.1:${app.port}`;
    apiDb = new ApiDb(postgresRpc(db.sql));
    photo = await sharp({ create: { width: 640, height: 640, channels: 3, background: '#3a7bd5' } }).jpeg().toBuffer();
    files = createServer((req, res) => {
      if (req.url === '/photo.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo);
      else if (req.url === '/big.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(big);
      else if (req.url === '/text') res.writeHead(200, { 'content-type': 'text/plain' }).end('hello, not an image at all');
      else if (req.url === '/redirect') res.writeHead(302, { location: '/photo.jpg' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
    filesUrl = `http://127.0.0.1:${(files.address() as { port: number }).port}`;
  });
  after(async () => {
    delete process.env.API_ALLOW_PRIVATE_URLS;
    delete process.env.API_MAX_PHOTO_MB;
    await app?.stop();
    await new Promise((r) => files?.close(r));
    await proxy?.close();
    await db?.drop();
  });

  test('apikey create/list/revoke from the CLI; keys stored hashed', async () => {
    let r = await cli(['apikey', 'create', '--name', 'seller A', '--rate', '100000', '--quota', '100000', '--json']);
    assert.equal(r.code, 0, r.out);
    keyA = (JSON.parse(r.out.split('\n').find((l) => l.includes('"key"'))!) as { key: string }).key;
    assert.match(keyA, /^nc_[0-9a-f]{8}_/);
    keyB = (await createKey(apiDb, { name: 'seller B' })).key;
    r = await cli(['apikey', 'list']);
    assert.equal(r.code, 0);
    assert.match(r.out, /seller A/);
    assert.match(r.out, new RegExp(keyA.slice(0, 11)));
    assert.ok(!r.out.includes(keyA), 'the full key is never listed');
    const rows = await db.sql`select prefix, secret_hash from api_keys`;
    for (const row of rows) assert.ok(![keyA, keyB].some((k) => JSON.stringify(row).includes(k.slice(12))), 'no secret stored');
  });

  test('one card: create → poll → result; OpenAPI document', async () => {
    const { ms } = await flow(keyA, 0);
    console.log(`# one card: create → JPEG in ${ms.toFixed(0)} ms (polling every 50 ms)`);
    const doc = await (await fetch(`${base}/api/openapi.json`)).json() as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
    assert.equal(doc.openapi, '3.0.3');
    for (const p of ['/api/cards', '/api/cards/{id}', '/api/cards/{id}/result', '/api/stats']) assert.ok(p in doc.paths, p);
    assert.ok(doc.components.schemas.CreateCardJson.properties!.photoUrl);
    assert.ok(doc.components.schemas.CreateCardMultipart.properties!.title);
  });

  test('50 concurrent clients: every card produced exactly once', async () => {
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => flow(keyA, i + 1)));
    const wall = performance.now() - t0;
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    console.log(`# 50 clients: all 50 cards in ${wall.toFixed(0)} ms; create → JPEG median ${ms[24].toFixed(0)} ms, p95 ${ms[47].toFixed(0)} ms, max ${ms[49].toFixed(0)} ms`);
    const ids = results.map((r) => r.id);
    assert.equal(new Set(ids).size, 50);
    const rows = await db.sql`select c.renders, j.attempts, j.status, (select count(*) from api_results r where r.job_id = c.job_id)::int as results
      from api_cards c join jobs j on j.id = c.job_id where c.job_id = any(${ids}::bigint[])`;
    assert.equal(rows.length, 50);
    for (const r of rows) assert.deepEqual([r.renders, r.attempts, r.status, r.results], [1, 1, 'succeeded', 1]);
    const [{ photos }] = await db.sql`select count(*)::int as photos from api_cards where photo is not null and storage is not null`;
    assert.equal(photos, 0, 'input photos dropped once stored');
  });

  test('without variant: awaiting_choice with 3 fetchable variants; choice (idempotent, 409 on another) → the validated set', async () => {
    const product = await sharp({ create: { width: 800, height: 800, channels: 3, background: '#e8e4dc' } })
      .composite([{ input: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="800" height="800"><rect x="260" y="180" width="280" height="440" rx="40" fill="#3a7bd5"/></svg>') }])
      .jpeg().toBuffer();
    const t0 = performance.now();
    const res = await create(keyA, form({ title: 'Термокружка 450 мл', features: ['Держит тепло 8 часов', 'Без BPA'], price: '1290', marketplace: 'ozon' }, product));
    assert.equal(res.status, 202);
    const { id } = await res.json() as { id: string };
    type CardBody = { status: string; error: string | null; marketplace: string; choice: number | null; framed: string | null;
      variants: { n: number; url: string }[]; slides: { role: string; width: number; height: number; url: string }[];
      timings: Record<string, number>; resultUrl: string | null };
    const poll = async (until: (c: CardBody) => boolean) => {
      for (let i = 0; i < 600; i++) {
        const c = await (await fetch(`${base}/api/cards/${id}`, { headers: auth(keyA) })).json() as CardBody;
        if (until(c) || c.status === 'dead') return c;
        await sleep(50);
      }
      throw new Error(`card ${id} never got there`);
    };
    let card = await poll((c) => c.status === 'awaiting_choice');
    const tVariants = performance.now() - t0;
    assert.equal(card.status, 'awaiting_choice', JSON.stringify(card));
    assert.equal(card.marketplace, 'ozon');
    assert.equal(card.framed, null, 'a product on a plain background is cut out');
    assert.deepEqual(card.variants.map((v) => v.n), [1, 2, 3]);
    assert.deepEqual(card.slides, []);
    assert.equal(card.resultUrl, null);
    const variants = await Promise.all(card.variants.map(async (v) => {
      const r = await fetch(v.url, { headers: auth(keyA) });
      assert.equal(r.status, 200);
      const jpeg = Buffer.from(await r.arrayBuffer());
      const m = await sharp(jpeg).metadata();
      assert.deepEqual([m.format, m.width, m.height], ['jpeg', 900, 1200]);
      return jpeg;
    }));
    assert.equal(new Set(variants.map((v) => v.toString('base64'))).size, 3, 'three different variants');
    assert.equal((await fetch(card.variants[0].url, { headers: auth(keyB) })).status, 404, "another key can't fetch them");
    await errorOf(await fetch(`${base}/api/cards/${id}/result`, { headers: auth(keyA) }), 409, 'not_ready');

    const choose = (variant: unknown, key = keyA) => fetch(`${base}/api/cards/${id}/choice`, {
      method: 'POST', headers: auth(key, { 'content-type': 'application/json' }), body: JSON.stringify({ variant }),
    });
    await errorOf(await choose(4), 400, 'invalid_input');
    await errorOf(await choose(2, keyB), 404, 'not_found');
    const t1 = performance.now();
    assert.equal((await choose(2)).status, 202);
    assert.equal((await choose(2)).status, 202, 'the same choice again is fine');
    await errorOf(await choose(3), 409, 'already_chosen');
    card = await poll((c) => c.status === 'succeeded');
    const tSet = performance.now() - t1;
    assert.equal(card.status, 'succeeded', JSON.stringify(card));
    assert.equal(card.choice, 2);
    assert.deepEqual(card.slides.map((x) => [x.role, x.width, x.height]), [['main', 900, 1200], ['infographic', 900, 1200], ['detail', 900, 1200]]);
    const slides = await Promise.all(card.slides.map(async (x) => Buffer.from(await (await fetch(x.url, { headers: auth(keyA) })).arrayBuffer())));
    for (const b of slides) assert.deepEqual(Object.values((({ format, width, height }) => ({ format, width, height }))(await sharp(b).metadata())), ['jpeg', 900, 1200]);
    assert.ok(slides[0].equals(variants[1]), 'the main picture is the chosen variant');
    const result = Buffer.from(await (await fetch(card.resultUrl!, { headers: auth(keyA) })).arrayBuffer());
    assert.ok(result.equals(slides[0]), '/result is the main picture');
    for (const k of ['cutout', 'variants', 'set']) assert.ok(card.timings[k] >= 0, `timing ${k}`);
    const [{ sets, renders }] = await db.sql`select (select count(*)::int from jobs where idempotency_key = ${'api-set:' + id}) as sets,
      (select renders from api_cards where job_id = ${id}) as renders`;
    assert.deepEqual([sets, renders], [1, 1], 'one set job, one stored result');
    console.log(`# staged card: create → 3 variants ${tVariants.toFixed(0)} ms, choice → set ${tSet.toFixed(0)} ms (polling 50 ms); stages ${JSON.stringify(card.timings)}`);
  });

  test('a photo the cut-out gate refuses is framed, and the card says why', async () => {
    const res = await create(keyA, form({ title: 'Рамка', variant: '1' }));
    const { id } = await res.json() as { id: string };
    let card: { status: string; framed: string | null; slides: unknown[] } = { status: '', framed: null, slides: [] };
    for (let i = 0; i < 600 && card.status !== 'succeeded' && card.status !== 'dead'; i++) {
      card = await (await fetch(`${base}/api/cards/${id}`, { headers: auth(keyA) })).json() as typeof card;
      if (card.status !== 'succeeded') await sleep(50);
    }
    assert.equal(card.status, 'succeeded');
    assert.match(String(card.framed), /^(fills_frame|no_product|low_confidence|cluttered)$/);
    assert.equal(card.slides.length, 3);
  });

  test('Idempotency-Key returns the same job (sequential and concurrent retries), scoped per key', async () => {
    const h = { 'idempotency-key': 'order-42' };
    const ids = await Promise.all(Array.from({ length: 5 }, async () => {
      const r = await create(keyA, form({ title: 'Повтор' }), h);
      assert.equal(r.status, 202);
      return (await r.json() as { id: string }).id;
    }));
    assert.equal(new Set(ids).size, 1);
    const again = await create(keyA, { photoUrl: `${filesUrl}/photo.jpg`, title: 'Повтор' }, h);
    assert.equal(again.status, 202);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal((await again.json() as { id: string }).id, ids[0]);
    const [{ n }] = await db.sql`select count(*)::int as n from jobs where idempotency_key like ${'%:order-42'}`;
    assert.equal(n, 1);
    // the same header from another key is another job
    const other = await create(keyB, form({ title: 'Повтор' }), h);
    assert.equal(other.status, 202);
    assert.notEqual((await other.json() as { id: string }).id, ids[0]);
  });

  test('JSON with a photo URL (redirect followed); private addresses refused unless allowed', async () => {
    const res = await create(keyA, { photoUrl: `${filesUrl}/redirect`, title: 'Из ссылки', features: ['a'], price: 500 });
    assert.equal(res.status, 202);
    await assert.rejects(fetchPhoto(`${filesUrl}/photo.jpg`, { maxBytes: 1e6, timeoutMs: 2000, allowPrivate: false }),
      (e) => e instanceof ApiError && e.status === 400 && /private or loopback/.test(e.message));
    await assert.rejects(fetchPhoto(`http://localhost:${new URL(filesUrl).port}/photo.jpg`, { maxBytes: 1e6, timeoutMs: 2000, allowPrivate: false }),
      (e) => e instanceof ApiError && e.status === 400 && /private or loopback/.test(e.message));
    const ok = await fetchPhoto(`${filesUrl}/photo.jpg`, { maxBytes: 1e6, timeoutMs: 2000, allowPrivate: true });
    assert.equal(ok.length, photo.length);
  });

  test("another key's card is invisible (404), and so is its result", async () => {
    const res = await create(keyA, form({ title: 'Секрет' }));
    const { id } = await res.json() as { id: string };
    await errorOf(await fetch(`${base}/api/cards/${id}`, { headers: auth(keyB) }), 404, 'not_found');
    await errorOf(await fetch(`${base}/api/cards/${id}/result`, { headers: auth(keyB) }), 404, 'not_found');
    assert.equal((await fetch(`${base}/api/cards/${id}`, { headers: auth(keyA) })).status, 200);
  });

  test('every error is JSON {error: {code, message}} with its status', async () => {
    // 400, the field named
    let e = await errorOf(await create(keyA, { photoUrl: `${filesUrl}/photo.jpg` }), 400, 'invalid_input');
    assert.match(e.message, /title/);
    e = await errorOf(await create(keyA, form({ title: 'Кружка ☕ 350 мл' })), 400, 'invalid_input');
    assert.match(e.message, /^title: cannot be printed on a card: ☕ \(U\+2615\)/);
    e = await errorOf(await create(keyA, { photoUrl: `${filesUrl}/photo.jpg`, title: 'x', features: ['ok', 'огонь 🔥'] }), 400, 'invalid_input');
    assert.match(e.message, /^features\.1: cannot be printed on a card: 🔥/);
    e = await errorOf(await create(keyA, form({ title: 'x', template: 'fancy' })), 400, 'invalid_input');
    assert.match(e.message, /template/);
    e = await errorOf(await create(keyA, form({ title: 'x' }, null)), 400, 'invalid_input');
    assert.match(e.message, /photo/);
    e = await errorOf(await create(keyA, { photoUrl: 'ftp://example.com/a.jpg', title: 'x' }), 400, 'invalid_input');
    assert.match(e.message, /photoUrl/);
    e = await errorOf(await fetch(`${base}/api/stats?days=0`, { headers: auth(keyA) }), 400, 'invalid_input');
    assert.match(e.message, /days/);
    await errorOf(await fetch(`${base}/api/cards`, { method: 'POST', headers: auth(keyA, { 'content-type': 'application/json' }), body: '{nope' }), 400);
    // 401
    await errorOf(await fetch(`${base}/api/cards/1`), 401, 'unauthorized');
    await errorOf(await fetch(`${base}/api/cards/1`, { headers: auth('nc_00000000_' + 'x'.repeat(43)) }), 401, 'unauthorized');
    // 403: revoked (CLI)
    const { key: doomed, row } = await createKey(apiDb, { name: 'doomed' });
    assert.equal((await fetch(`${base}/api/stats`, { headers: auth(doomed) })).status, 200);
    const r = await cli(['apikey', 'revoke', row.prefix]);
    assert.equal(r.code, 0, r.out);
    await errorOf(await fetch(`${base}/api/stats`, { headers: auth(doomed) }), 403, 'key_revoked');
    // 404
    await errorOf(await fetch(`${base}/api/cards/999999999`, { headers: auth(keyA) }), 404, 'not_found');
    await errorOf(await fetch(`${base}/api/cards/abc`, { headers: auth(keyA) }), 404, 'not_found');
    // 413: the request, and a fetched photo
    await errorOf(await create(keyA, form({ title: 'x' }, big)), 413);
    await errorOf(await create(keyA, { photoUrl: `${filesUrl}/big.jpg`, title: 'x' }), 413, 'photo_too_large');
    // 415: not an image (upload and URL), and an unsupported body type
    await errorOf(await create(keyA, form({ title: 'x' }, Buffer.from('just some text, not a photo'), 'text/plain')), 415, 'not_an_image');
    await errorOf(await create(keyA, { photoUrl: `${filesUrl}/text`, title: 'x' }), 415, 'not_an_image');
    await errorOf(await fetch(`${base}/api/cards`, { method: 'POST', headers: auth(keyA, { 'content-type': 'text/plain' }), body: 'hi' }), 415, 'unsupported_media_type');
    // 429: rate limit, then quota, both with Retry-After
    const { key: slow } = await createKey(apiDb, { name: 'slow', rate: 3 });
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${base}/api/stats`, { headers: auth(slow) })).status, 200);
    let res = await fetch(`${base}/api/stats`, { headers: auth(slow) });
    assert.ok(Number(res.headers.get('retry-after')) >= 1 && Number(res.headers.get('retry-after')) <= 60);
    await errorOf(res, 429, 'rate_limited');
    const { key: small } = await createKey(apiDb, { name: 'small', quota: 1 });
    assert.equal((await create(small, form({ title: 'one' }))).status, 202);
    res = await create(small, form({ title: 'two' }));
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    await errorOf(res, 429, 'quota_exceeded');
  });

  test('GET /api/stats matches the jobs table (count, avg, p95 per day and status)', async () => {
    const res = await fetch(`${base}/api/stats?days=7`, { headers: auth(keyA) });
    assert.equal(res.status, 200);
    const body = await res.json() as { rows: { day: string; status: string; count: number; avgSeconds: number | null; p95Seconds: number | null }[] };
    const [{ id: keyId }] = await db.sql`select id from api_keys where prefix = ${keyA.slice(0, 11)}`;
    const jobs = await db.sql`select j.status::text as status, to_char(j.created_at at time zone 'utc', 'YYYY-MM-DD') as day,
        extract(epoch from j.finished_at - j.created_at)::float8 as secs
      from jobs j join api_cards c on c.job_id = j.id where c.key_id = ${keyId}`;
    const groups = new Map<string, (number | null)[]>();
    for (const j of jobs) groups.set(`${j.day}|${j.status}`, [...(groups.get(`${j.day}|${j.status}`) ?? []), j.secs]);
    assert.equal(body.rows.length, groups.size);
    for (const row of body.rows) {
      const all = groups.get(`${row.day}|${row.status}`);
      assert.ok(all, `${row.day} ${row.status}`);
      assert.equal(row.count, all.length);
      const d = all.filter((x): x is number => x != null).sort((a, b) => a - b);
      if (d.length === 0) { assert.equal(row.avgSeconds, null); continue; }
      const avg = d.reduce((a, b) => a + b, 0) / d.length;
      const pos = 0.95 * (d.length - 1);
      const p95 = d[Math.floor(pos)] + (d[Math.ceil(pos)] - d[Math.floor(pos)]) * (pos - Math.floor(pos));
      assert.ok(Math.abs(row.avgSeconds! - avg) < 0.001, `avg ${row.avgSeconds} vs ${avg}`);
      assert.ok(Math.abs(row.p95Seconds! - p95) < 0.001, `p95 ${row.p95Seconds} vs ${p95}`);
    }
    assert.ok(body.rows.some((r) => r.status === 'succeeded' && r.count >= 51));
  });

  test('GET /api/stats reports the AI cost of this key\'s cards only (total, per-order average)', async () => {
    const [{ id: keyId }] = await db.sql`select id from api_keys where prefix = ${keyA.slice(0, 11)}`;
    const [mine1, mine2] = await db.sql`select job_id from api_cards where key_id = ${keyId} order by job_id limit 2`;
    const [other] = await db.sql`select job_id from api_cards where key_id <> ${keyId} limit 1`;
    // Two paid variants of one order, one of another, and someone else's order.
    for (const [order, variant, cost] of [[`api:${mine1.job_id}`, 1, 0.04], [`api:${mine1.job_id}`, 2, 0.02], [`api:${mine2.job_id}`, 1, 0.03],
      [`api:${other?.job_id ?? 0}`, 1, 5], ['bot:1', 1, 7]] as const) {
      await db.sql`insert into ai_calls (call_key, order_key, state, paid_calls, cost_usd) values (${`${order}:v${variant}:backdrop`}, ${order}, 'done', 1, ${cost})`;
    }
    const body = await (await fetch(`${base}/api/stats?days=7`, { headers: auth(keyA) })).json() as { aiCost: Record<string, number> };
    assert.deepEqual(body.aiCost, { totalUsd: 0.09, orders: 2, avgPerOrderUsd: 0.045, paidCalls: 3 });
  });

  test('results in Supabase Storage (fake of its REST API): upload, signed URL redirect, removed with the job', async () => {
    const storage: FakeStorage = await startFakeStorage(SERVICE_KEY);
    try {
      const config = loadConfig({
        DATABASE_URL: db.url, SUPABASE_URL: storage.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
        PORT: '0', INSTANCE_ID: 'api-storage-test', JOB_CONCURRENCY: '2',
      });
      await app.pool?.stop(5_000); // only the Storage-backed instance renders now
      const app2 = await startApp(config, log, { bot: false });
      try {
        const b2 = `http://127.0.0.1:${app2.port}`;
        const res = await fetch(`${b2}/api/cards`, { method: 'POST', headers: auth(keyA), body: form({ title: 'В облаке', variant: '1' }) });
        assert.equal(res.status, 202);
        const { id } = await res.json() as { id: string };
        let status = '';
        for (let i = 0; i < 200 && status !== 'succeeded'; i++) {
          status = (await (await fetch(`${b2}/api/cards/${id}`, { headers: auth(keyA) })).json() as { status: string }).status;
          await sleep(50);
        }
        assert.equal(status, 'succeeded');
        assert.ok(storage.buckets.has('card-results') && storage.buckets.get('card-results')!.public === false);
        assert.ok(storage.objects.has(`card-results/cards/${id}.jpg`));
        const redirect = await fetch(`${b2}/api/cards/${id}/result`, { headers: auth(keyA), redirect: 'manual' });
        assert.equal(redirect.status, 302);
        const signed = redirect.headers.get('location')!;
        assert.match(signed, /\/storage\/v1\/object\/sign\/card-results\/cards\/\d+\.jpg\?token=/);
        const img = await fetch(signed); // no key needed: the URL is signed
        assert.equal(img.status, 200);
        assert.equal((await sharp(Buffer.from(await img.arrayBuffer())).metadata()).width, 900);
        // retention: the job goes, the card row cascades, the object is swept
        await db.sql`delete from jobs where id = ${id}`;
        const results = new SupabaseResultStore(apiDb, { url: storage.url, serviceRoleKey: SERVICE_KEY, bucket: 'card-results', signedUrlSeconds: 60 });
        assert.equal(await results.sweep(), 1);
        assert.ok(!storage.objects.has(`card-results/cards/${id}.jpg`));
      } finally {
        await app2.stop();
      }
    } finally {
      await storage.close();
    }
  });

  test('RPC mode: the same SQL functions over PostgREST (supabase-js)', async () => {
    const rest = await startPostgrest({ databaseUrl: db.url });
    try {
      const rpc = new ApiDb(restRpc({ url: rest.url, serviceRoleKey: rest.serviceRoleKey }));
      const { key } = await createKey(rpc, { name: 'over rpc' });
      const auth1 = await rpc.auth(hashKey(key));
      assert.equal(auth1.result, 'ok');
      const keyId = (auth1 as { key_id: number }).key_id;
      const c = await rpc.create(keyId, { title: 'RPC', features: ['a'], price: '10', template: 'bold' }, photo, 'rpc-1');
      assert.equal(c.result, 'created');
      const id = String((c as { id: number }).id);
      const input = await rpc.input(id);
      assert.ok(input && input.photo?.equals(photo));
      const again = await rpc.create(keyId, { title: 'RPC', features: [], price: null, template: 'bold' }, photo, 'rpc-1');
      assert.deepEqual([again.result, String((again as { id: number }).id)], ['exists', id]);
      assert.equal((await rpc.get(keyId, id))?.id, Number(id));
      assert.equal(await rpc.get(keyId + 1000, id), null);
      // the one card of this key, counted the same over RPC as over postgres.js
      const stats = await rpc.stats(keyId, 7);
      const [{ today, status }] = await db.sql`select to_char((now() at time zone 'utc')::date, 'YYYY-MM-DD') as today,
        (select j.status::text from jobs j where j.id = ${id}) as status`;
      assert.deepEqual(stats.map((r) => [r.day, r.status, Number(r.count)]), [[today, status, 1]]);
      assert.deepEqual(stats, await apiDb.stats(keyId, 7));
      assert.equal((await rpc.auth(hashKey(key + 'x'))).result, 'unknown');
    } finally {
      await rest.close();
    }
  });

  test('503 while the database is away, and back after', async () => {
    proxy.cut();
    try {
      const res = await fetch(`${base}/api/cards/1`, { headers: auth(keyA) });
      assert.ok(res.headers.get('retry-after'));
      await errorOf(res, 503, 'unavailable');
    } finally {
      await proxy.restore();
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 404; i++) {
      status = (await fetch(`${base}/api/cards/999999999`, { headers: auth(keyA) })).status;
      if (status !== 404) await sleep(100);
    }
    assert.equal(status, 404);
  });
});
