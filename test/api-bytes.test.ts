// An API card's bytes cross the RPC layer the fewest times Postgres as the only shared
// state allows: the photo once in (create) and once out (the cut-out stage's input);
// each stage's output once in (cut-out, variants, set, the stored main picture) and out
// only to the stage that builds on it (the set reads the cut-out and the chosen
// variant) or to a download; a status read, a choice, a retry after a stage is recorded
// and the create's answer carry none of them. Counted on a wrapper around the real
// direct transport, for the real ApiDb, result store and api-card / api-card-set jobs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { ApiDb } from '../src/api/db.ts';
import { createKey, hashKey } from '../src/api/keys.ts';
import { DbResultStore } from '../src/api/storage.ts';
import type { Rpc } from '../src/db/rpc/index.ts';
import { postgresRpc } from '../src/db/rpc/postgres.ts';
import type { JobContext } from '../src/worker/registry.ts';
import { apiCardJob } from '../src/api/jobs/api-card.ts';
import { apiCardSetJob } from '../src/api/jobs/api-card-set.ts';
import { createTestDb, type TestDb } from './support/db.ts';

interface Crossing { fn: string; sent: number; received: number }

/** Bytes of arguments sent and of the answer received, per call, as the transport carries them. */
function counting(inner: Rpc, log: Crossing[]): Rpc {
  const size = (v: unknown) => (v == null ? 0 : Buffer.isBuffer(v) ? Math.ceil(v.length / 3) * 4 : Buffer.byteLength(JSON.stringify(v)));
  return {
    mode: inner.mode,
    async call(fn, args, o) {
      const r = await inner.call(fn, args, o);
      log.push({ fn, sent: Object.values(args as Record<string, unknown>).reduce<number>((n, v) => n + size(v), 0), received: size(r) });
      return r;
    },
  };
}

let db: TestDb;
before(async () => { db = await createTestDb(); });
after(async () => { await db?.drop(); });

test("an API card: each stage's bytes go in once and out only to the stage or download that needs them", async () => {
  const log: Crossing[] = [];
  const api = new ApiDb(counting(postgresRpc(db.sql), log));
  const photo = await sharp({ create: { width: 800, height: 800, channels: 3, background: '#3a7bd5' } })
    .composite([{ input: Buffer.from(Array.from({ length: 800 * 800 * 3 }, (_, i) => (i * 7919) % 251)), raw: { width: 800, height: 800, channels: 3 } }])
    .jpeg({ quality: 95 }).toBuffer();
  const { key } = await createKey(api, { name: 'bytes' });
  const auth = await api.auth(hashKey(key));
  const keyId = (auth as { key_id: number }).key_id;
  const job = apiCardJob({ db: api });
  const setJob = apiCardSetJob({ db: api, results: new DbResultStore(api) });
  const ctx = (id: string) => ({ job: { id, attempts: 1, maxAttempts: 5 }, signal: new AbortController().signal } as unknown as JobContext);
  const run = (id: string) => job.handle({}, ctx(id));
  const runSet = (id: string) => setJob.handle({ card: id }, ctx(id));

  log.length = 0;
  const created = await api.create(keyId, { title: 'Bytes', features: ['a'], price: null, template: 'clean', marketplace: 'wb', variant: null }, photo, null);
  assert.equal(created.result, 'created');
  const id = String((created as { id: number }).id);
  await run(id);
  await run(id); // a retry after the variants are recorded makes nothing, reads no bytes
  await db.sql`update public.jobs set status = 'succeeded' where id = ${id}`; // what the pool's complete() does
  const chosen = await api.choose(keyId, id, 2);
  assert.equal(chosen?.result, 'ok');
  await runSet(id);
  await runSet(id); // a retry after the set is recorded and stored composes nothing
  await db.sql`update public.jobs set status = 'succeeded' where id = ${chosen!.set_job}`;
  assert.ok(await api.get(keyId, id));
  const result = await api.result(keyId, id);
  assert.ok(result?.jpeg && result.jpeg.length > 10_000, 'a real card came back');

  const b64 = (n: number) => Math.ceil(n / 3) * 4;
  const photoB64 = b64(photo.length);
  const resultB64 = b64(result.jpeg.length);
  // Any call moving more than a quarter of the smaller payload carries bytes.
  const heavy = log.filter((c) => c.sent + c.received > Math.min(photoB64, resultB64) / 4)
    .map((c) => `${c.fn} ${c.sent >= c.received ? 'in' : 'out'}`);
  assert.deepEqual(heavy, [
    'api_card_create in', 'api_card_input out', 'api_card_cutout_done in', 'api_card_variants_done in',
    'api_card_set_input out', 'api_card_set_done in', 'api_card_store in', 'api_card_result out',
  ], JSON.stringify(log));
});
