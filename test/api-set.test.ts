// The set of an API card is checked against its marketplace before it is recorded: a
// slide that breaks a rule fails the card with the rule named, and nothing of the set can
// be fetched. And a stage recorded by an earlier attempt is never made again. Real
// Postgres, the real ApiDb and job handlers; the composer is the real one, wrapped.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { ApiDb } from '../src/api/db.ts';
import { apiCardJob } from '../src/api/jobs/api-card.ts';
import { apiCardSetJob } from '../src/api/jobs/api-card-set.ts';
import { createKey, hashKey } from '../src/api/keys.ts';
import { DbResultStore } from '../src/api/storage.ts';
import { composeSet, type SetComposer } from '../src/cards/index.ts';
import { postgresRpc } from '../src/db/rpc/postgres.ts';
import type { JobContext } from '../src/worker/registry.ts';
import { PermanentError } from '../src/worker/retry.ts';
import { createTestDb, type TestDb } from './support/db.ts';

let db: TestDb;
let api: ApiDb;
let keyId: number;
let product: Buffer;
before(async () => {
  db = await createTestDb();
  api = new ApiDb(postgresRpc(db.sql));
  const { key } = await createKey(api, { name: 'set' });
  keyId = (await api.auth(hashKey(key)) as { key_id: number }).key_id;
  product = await sharp({ create: { width: 800, height: 800, channels: 3, background: '#e8e4dc' } })
    .composite([{ input: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="800" height="800"><rect x="260" y="180" width="280" height="440" rx="40" fill="#3a7bd5"/></svg>') }])
    .jpeg().toBuffer();
});
after(async () => { await db?.drop(); });

const ctx = (id: string) => ({ job: { id, attempts: 1, maxAttempts: 5 }, signal: new AbortController().signal } as unknown as JobContext);

async function cardAt(marketplace: 'wb' | 'ozon', variant: number | null) {
  const c = await api.create(keyId, { title: 'Термокружка', features: ['Держит тепло', 'Без BPA'], price: '1290', template: 'clean', marketplace, variant }, product, null);
  return String((c as { id: number }).id);
}

test('a violating slide fails the set with the rule named; nothing of it is recorded or stored', async () => {
  const id = await cardAt('ozon', 1);
  await apiCardJob({ db: api }).handle({}, ctx(id));
  // A composer that puts a caption on Ozon's main picture, and a slide of the wrong size.
  const bad: SetComposer = async (i) => {
    const slides = await composeSet(i);
    const small = await sharp(slides[2].jpeg).resize(600, 800).jpeg().toBuffer();
    return [{ ...slides[0], shows: { text: true, price: false } }, slides[1], { ...slides[2], jpeg: small, width: 600, height: 800 }];
  };
  const job = apiCardSetJob({ db: api, results: new DbResultStore(api), compose: bad });
  await assert.rejects(job.handle({ card: id }, ctx(id)), (e) => {
    assert.ok(e instanceof PermanentError, String(e));
    assert.match(e.message, /ozon/);
    assert.match(e.message, /slide 1: .*captions \(text_on_main\)/);
    assert.match(e.message, /slide 3: 600×800 is under 900×1200 \(too_small\)/);
    return true;
  });
  const [{ slides, stored, set_at }] = await db.sql`select
    (select count(*)::int from api_card_images where job_id = ${id} and role <> 'variant') as slides,
    (select count(*)::int from api_results where job_id = ${id}) as stored,
    (select set_at from api_cards where job_id = ${id}) as set_at`;
  assert.deepEqual([slides, stored, set_at], [0, 0, null]);
  // The same card with the real composer is compliant.
  const ok = await apiCardSetJob({ db: api, results: new DbResultStore(api) }).handle({ card: id }, ctx(id)) as { slides: number };
  assert.equal(ok.slides, 3);
});

test('a cut-out recorded by an earlier attempt is used, not made again', async () => {
  const id = await cardAt('wb', null);
  // An earlier attempt recorded its cut-out (a red square), then died before the variants.
  const red = await sharp({ create: { width: 200, height: 300, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } }).png().toBuffer();
  assert.deepEqual(await api.cutoutDone(id, red, null, 123), { recorded: true });
  await apiCardJob({ db: api }).handle({}, ctx(id));
  const card = await api.get(keyId, id);
  assert.equal(card?.timings.cutout, 123, 'the cut-out stage did not run again');
  assert.deepEqual(card?.variants.map((v) => v.n), [1, 2, 3]);
  const v1 = await api.image(keyId, id, 'variant', 1);
  const { data } = await sharp(v1!.jpeg).extract({ left: 440, top: 900, width: 20, height: 20 }).raw().toBuffer({ resolveWithObject: true });
  assert.ok(data[0] > 200 && data[1] < 60 && data[2] < 60, `the variant shows the recorded (red) cut-out: ${data.subarray(0, 3).join(',')}`);
  // A retry after the variants are recorded makes nothing.
  assert.deepEqual(await apiCardJob({ db: api }).handle({}, ctx(id)), { reused: true });
  const [{ photo }] = await db.sql`select photo is null as photo from api_cards where job_id = ${id}`;
  assert.equal(photo, true, 'the input photo is dropped once the cut-out is recorded');
});
