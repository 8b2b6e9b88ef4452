// Acceptance (issue 4, item 14): 20 simulated users order cards at the same time
// against 2 app processes in webhook mode, behind a round-robin proxy (as Render's
// load balancer). Every order goes the whole generation flow: its 3 variants arrive
// exactly once as one album with one 1/2/3 message, the seller picks, and the set arrives
// exactly once as one album plus one zip of 900×1200 JPEGs; the ack comes first, and
// injected 429s and 500s cost no order and no duplicate.
import assert from 'node:assert/strict';
import { after as afterAll, before, test } from 'node:test';
import { samplePhoto } from '../src/cards/sample.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { sniffImage, startFakeTelegram, type FakeTelegram } from './support/fake-telegram.ts';
import { spawnCli, type Proc } from './support/procs.ts';
import { after, albumOf, botEnv, buttons, fillOrder, TOKEN, waitForAlbum } from './support/bot.ts';
import { unzip } from './support/unzip.ts';
import { startProxy, type Proxy } from './support/proxy.ts';
import { waitFor } from './support/wait.ts';

const USERS = 20;
let db: TestDb;
let tg: FakeTelegram;
let proxy: Proxy | undefined;
const procs: Proc[] = [];

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

before(async () => { db = await createTestDb(); tg = await startFakeTelegram({ token: TOKEN }); });
afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.exited));
  await proxy?.close();
  await tg?.close();
  await db?.drop();
});

test(`${USERS} users order at once against 2 webhook instances with injected 429s and 500s`, async () => {
  const p = proxy = await startProxy();
  for (let i = 0; i < 2; i++) {
    procs.push(spawnCli(['start'], {
      ...botEnv(db.url, tg, { LOG_LEVEL: 'info' }), PORT: '0', INSTANCE_ID: `e2e-${i}`,
      WEBHOOK_URL: `http://127.0.0.1:${p.port}`, TELEGRAM_WEBHOOK_SECRET: 'e2e-secret', MAX_OPEN_ORDERS: '5',
    }));
  }
  p.targets.push(...await Promise.all(procs.map(async (pr) =>
    (await pr.waitForJson<{ msg?: string; port?: number }>((o) => typeof o.port === 'number' && /HTTP on/.test(o.msg ?? ''), 40_000)).port!)));
  await Promise.all(procs.map((pr) => pr.waitForJson((o: { msg?: string }) => o.msg === 'Telegram webhook set', 40_000)));

  const photo = await samplePhoto(1000, 1000);
  const users = Array.from({ length: USERS }, (_, i) => tg.user(50_000 + i, { languageCode: i % 2 ? 'en' : 'ru' }));
  // Faults on everything the bot and the worker send (not on webhook deliveries).
  tg.chaos({ rate: 0.12, codes: [429, 500], retryAfter: 0.5, seed: 7, methods: ['sendMessage', 'sendPhoto', 'sendMediaGroup', 'sendDocument', 'editMessageText'] });

  const results = await Promise.all(users.map(async (u, i) => {
   try {
    const { summary, confirmData } = await fillOrder(u, photo, { title: `Товар ${i}`, template: ['clean', 'bold', 'promo'][i % 3] });
    const confirmedAt = Date.now();
    const ack = await after(u, () => u.pressButton(summary.message_id, confirmData), (m) => m.kind === 'text', 30_000);
    const variants = await waitForAlbum(u, ack.message_id, 3, 60_000);
    const choice = await u.waitForMessage((m) => buttons(m).some((b) => b.startsWith('pick:')), 60_000);
    const picked = Date.now();
    u.pressButton(choice.message_id, buttons(choice)[i % 3]);
    const doc = await u.waitForMessage((m) => m.kind === 'document', 60_000);
    return { u, ack, variants, choice, doc, confirmedAt, picked };
   } catch (err) {
      console.log(`# user ${u.id} stuck:\n` + u.messages().map((m) => `#   ${m.message_id} ${m.kind} ${(m.text ?? m.caption ?? '').slice(0, 50).replace(/\n/g, ' ')}`).join('\n'));
      console.log(procs.flatMap((pr) => pr.lines.filter((l) => /"level":(40|50|60)/.test(l))).slice(-15).map((l) => `# ${l.slice(0, 400)}`).join('\n'));
      throw err;
    }
  }));
  tg.chaos(null);
  // Quiescence, anchored on the database: once every card job is final, nothing is left
  // that could send again; a duplicate would have to be among the messages by now.
  await waitFor(async () => {
    const [r] = await db.sql`select count(*)::int as jobs, count(*) filter (where status not in ('succeeded', 'dead', 'canceled'))::int as open
      from public.jobs where kind in ('render-card', 'card-set', 'deliver-card')`;
    return r.jobs >= 3 * USERS && r.open === 0;
  }, 60_000, 'every card job final');
  const quietFrom = tg.calls.length;

  for (const { u, ack, variants, choice, doc } of results) {
    const docs = u.messages().filter((m) => m.kind === 'document');
    const albums = new Set(u.messages().filter((m) => m.method === 'sendMediaGroup').map((m) => m.media_group_id));
    const picks = u.messages().filter((m) => /(№|#)\d+: .*(1, 2|1, 2 или 3)/.test(m.text ?? ''));
    assert.equal(docs.length, 1, `user ${u.id}: one zip`);
    assert.equal(albums.size, 2, `user ${u.id}: two albums (variants, set)`);
    assert.equal(picks.length, 1, `user ${u.id}: one 1/2/3 message`);
    const slides = [...albums].map((g) => albumOf(u, u.messages().find((m) => m.media_group_id === g)!)).find((a) => a[0].message_id > choice.message_id)!;
    for (const m of [...variants, ...slides]) assert.deepEqual(sniffImage(m.bytes!), { format: 'jpeg', width: 900, height: 1200 });
    const entries = unzip(doc.bytes!);
    assert.equal(entries.length, slides.length);
    for (const [k, e] of entries.entries()) assert.ok(e.data.equals(slides[k].bytes!), `user ${u.id}: zip entry ${k + 1} is slide ${k + 1}`);
    assert.ok(ack.sentAt < variants[0].sentAt && variants[0].sentAt <= choice.sentAt && choice.sentAt < slides[0].sentAt && slides[0].sentAt <= doc.sentAt,
      `user ${u.id}: ack, variants, 1/2/3, slides, zip`);
    assert.match(ack.text!, /(№|#)\d+/);
  }
  const orders = await db.sql`select status, render_ms, extract(epoch from delivered_at - created_at) * 1000 as ms from public.orders`;
  assert.equal(orders.length, USERS);
  assert.ok(orders.every((o) => o.status === 'sent'));
  const injected = tg.calls.filter((c) => c.injected);
  assert.ok(injected.some((c) => c.status === 429) && injected.some((c) => c.status === 500), 'faults were injected');
  assert.equal(p.hits.length, 2);
  assert.ok(p.hits.every((h) => h > 0), 'both instances took updates');
  const late = tg.calls.slice(quietFrom).filter((c) => /^(send|edit)/.test(c.method));
  assert.deepEqual(late.map((c) => c.method), [], 'nothing sent after every card job was final');

  const toVariants = results.map((r) => r.choice.sentAt - r.confirmedAt);
  const toSet = results.map((r) => r.doc.sentAt - r.picked);
  const render = orders.map((o) => Number(o.render_ms));
  const dup = await db.sql`select count(*)::int as n from public.order_deliveries d1 where committed_at is null
    and exists (select 1 from public.order_deliveries d2 where d2.order_id = d1.order_id and d2.part = d1.part and d2.id > d1.id)`;
  console.log(`# ${USERS} users, 2 instances: confirm → 3 variants delivered p50 ${pct(toVariants, 50)} ms, p95 ${pct(toVariants, 95)} ms; ` +
    `pick → set delivered p50 ${pct(toSet, 50)} ms, p95 ${pct(toSet, 95)} ms`);
  console.log(`# variants stage per order (3 × 900×1200): p50 ${pct(render, 50)} ms, p95 ${pct(render, 95)} ms`);
  console.log(`# injected faults: ${injected.filter((c) => c.status === 429).length}×429, ${injected.filter((c) => c.status === 500).length}×500; ` +
    `webhook hits per instance ${p.hits.join('/')}; send attempts left uncommitted then retried (failed calls; a duplicate only if Telegram had processed one): ${dup[0].n}`);
});
