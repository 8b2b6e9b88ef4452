// An API card waiting for its seller's choice of variant does not vanish with the prune
// of finished jobs: it waits 7 days (GET shows choiceExpiresAt), then shows `expired`
// (POST /choice → 410) for 7 more days, and only then goes. A chosen card lives 24 h
// after its set, however long it waited. Real app over HTTP on real Postgres; time passes
// by moving the card's timestamps back, and retention is the real prune().
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { ApiDb } from '../src/api/db.ts';
import { createKey } from '../src/api/keys.ts';
import { postgresRpc } from '../src/db/rpc/postgres.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startApp, type RunningApp } from '../src/main.ts';
import { createTestDb, type TestDb } from './support/db.ts';

type CardBody = { status: string; choice: number | null; choiceExpiresAt: string | null; variants: { n: number; url: string }[] };

describe('API cards waiting for a choice', () => {
  let db: TestDb;
  let app: RunningApp;
  let base: string;
  let key: string;
  let photo: Buffer;
  const auth = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...extra });

  before(async () => {
    db = await createTestDb();
    const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', INSTANCE_ID: 'expiry-test', JOB_CONCURRENCY: '4', MAINTENANCE_EVERY_S: '0' });
    app = await startApp(config, createLogger({ level: 'silent' }), { bot: false });
    base = `http://127.0.0.1:${app.port}`;
    key = (await createKey(new ApiDb(postgresRpc(db.sql)), { name: 'expiry' })).key;
    photo = await sharp({ create: { width: 640, height: 640, channels: 3, background: '#e8e4dc' } })
      .composite([{ input: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="640"><rect x="200" y="140" width="240" height="360" rx="30" fill="#3a7bd5"/></svg>') }])
      .jpeg().toBuffer();
  });
  after(async () => {
    await app?.stop();
    await db?.drop();
  });

  const get = async (id: string) => fetch(`${base}/api/cards/${id}`, { headers: auth() });
  const card = async (id: string) => {
    const r = await get(id);
    assert.equal(r.status, 200);
    return await r.json() as CardBody;
  };
  const poll = async (id: string, status: string) => {
    for (let i = 0; i < 1200; i++) {
      const c = await card(id);
      if (c.status === status) return c;
      assert.notEqual(c.status, 'dead', JSON.stringify(c));
      await sleep(50);
    }
    throw new Error(`card ${id} never reached ${status}`);
  };
  const create = async () => {
    const f = new FormData();
    f.append('photo', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'photo.jpg');
    f.append('title', 'Термокружка');
    f.append('features', 'Держит тепло');
    const r = await fetch(`${base}/api/cards`, { method: 'POST', headers: auth(), body: f });
    assert.equal(r.status, 202);
    return (await r.json() as { id: string }).id;
  };
  const choose = (id: string, variant: number) => fetch(`${base}/api/cards/${id}/choice`, {
    method: 'POST', headers: auth({ 'content-type': 'application/json' }), body: JSON.stringify({ variant }),
  });
  /** `days` pass for the card: every timestamp of it and its jobs moves back. */
  const age = async (id: string, days: number) => {
    const d = `${days} days`;
    await db.sql`update jobs set created_at = created_at - ${d}::interval, started_at = started_at - ${d}::interval,
        finished_at = finished_at - ${d}::interval, keep_until = keep_until - ${d}::interval
      where id = ${id} or id = (select set_job_id from api_cards where job_id = ${id})`;
    await db.sql`update api_cards set created_at = created_at - ${d}::interval, cutout_at = cutout_at - ${d}::interval,
        variants_at = variants_at - ${d}::interval, set_at = set_at - ${d}::interval where job_id = ${id}`;
  };
  const prune = async () => { await db.sql`select public.prune()`; };

  test('awaiting_choice survives the 24 h prune, expires after 7 days (410 on choice), goes after 14', async () => {
    const id = await create();
    let c = await poll(id, 'awaiting_choice');
    const [{ variants_at }] = await db.sql`select variants_at from api_cards where job_id = ${id}`;
    assert.equal(new Date(c.choiceExpiresAt!).getTime(), new Date(variants_at).getTime() + 7 * 86_400_000, 'choiceExpiresAt = variants + 7 days');

    await age(id, 2);
    await prune();
    c = await card(id);
    assert.equal(c.status, 'awaiting_choice', 'two days later, after the prune of finished jobs, the card still waits');
    assert.equal((await fetch(c.variants[0].url, { headers: auth() })).status, 200, 'its variants are still there');

    await age(id, 6); // 8 days
    await prune();
    c = await card(id);
    assert.equal(c.status, 'expired');
    assert.ok(new Date(c.choiceExpiresAt!).getTime() < Date.now());
    const r = await choose(id, 1);
    const body = await r.json() as { error: { code: string; message: string } };
    assert.equal(r.status, 410, JSON.stringify(body));
    assert.equal(body.error.code, 'choice_expired');
    assert.match(body.error.message, /7 days/);
    assert.equal((await card(id)).choice, null, 'an expired card takes no choice');

    await age(id, 7); // 15 days
    await prune();
    assert.equal((await get(id)).status, 404, 'two weeks after its variants the expired card is gone');
  });

  test('a card chosen on day 6 keeps its set for 24 h after it is made, then goes', async () => {
    const id = await create();
    await poll(id, 'awaiting_choice');
    await age(id, 6);
    await prune();
    assert.equal((await choose(id, 2)).status, 202);
    let c = await poll(id, 'succeeded');
    assert.equal(c.choice, 2);
    assert.equal(c.choiceExpiresAt, null);
    await prune();
    assert.equal((await get(id)).status, 200, 'the set just made is kept although the first job finished 6 days ago');
    await age(id, 0.5);
    await prune();
    c = await card(id);
    assert.equal(c.status, 'succeeded');
    await age(id, 1);
    await prune();
    assert.equal((await get(id)).status, 404, 'a day and a half after its set the card is gone');
  });
});
