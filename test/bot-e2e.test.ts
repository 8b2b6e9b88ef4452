// Acceptance (issue 4, item 14): 20 simulated users order cards at the same time
// against 2 app processes in webhook mode, behind a round-robin proxy (as Render's
// load balancer). Every order is delivered exactly once as a photo plus a 900×1200
// JPEG document, the ack arrives before the card, and injected 429s and 500s cost no
// order and no duplicate.
import assert from 'node:assert/strict';
import { after as afterAll, before, test } from 'node:test';
import { samplePhoto } from '../src/cards/sample.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { sniffImage, startFakeTelegram, type FakeTelegram } from './support/fake-telegram.ts';
import { spawnCli, type Proc } from './support/procs.ts';
import { after, botEnv, fillOrder, TOKEN } from './support/bot.ts';
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
  tg.chaos({ rate: 0.12, codes: [429, 500], retryAfter: 0.5, seed: 7, methods: ['sendMessage', 'sendPhoto', 'sendDocument', 'editMessageText'] });

  const results = await Promise.all(users.map(async (u, i) => {
   try {
    const { summary, confirmData } = await fillOrder(u, photo, { title: `Товар ${i}`, template: ['clean', 'bold', 'promo'][i % 3] });
    const confirmedAt = Date.now();
    const ack = await after(u, () => u.pressButton(summary.message_id, confirmData), (m) => m.kind === 'text', 30_000);
    const doc = await u.waitForMessage((m) => m.kind === 'document', 60_000);
    return { u, ack, doc, confirmedAt };
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
      from public.jobs where kind in ('render-card', 'deliver-card')`;
    return r.jobs >= USERS && r.open === 0;
  }, 60_000, 'every card job final');
  const quietFrom = tg.calls.length;

  for (const { u, ack, doc } of results) {
    const docs = u.messages().filter((m) => m.kind === 'document');
    const cards = u.messages().filter((m) => m.kind === 'photo' && /^(№|#)\d+ /.test(m.caption ?? ''));
    assert.equal(docs.length, 1, `user ${u.id}: one document`);
    assert.equal(cards.length, 1, `user ${u.id}: one card photo`);
    assert.deepEqual(sniffImage(doc.bytes!), { format: 'jpeg', width: 900, height: 1200 });
    assert.ok(ack.sentAt < cards[0].sentAt && cards[0].sentAt <= doc.sentAt, `user ${u.id}: ack, then photo, then document`);
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

  const e2e = results.map((r) => r.doc.sentAt - r.confirmedAt);
  const render = orders.map((o) => Number(o.render_ms));
  const dup = await db.sql`select count(*)::int as n from public.order_deliveries d1 where committed_at is null
    and exists (select 1 from public.order_deliveries d2 where d2.order_id = d1.order_id and d2.part = d1.part and d2.id > d1.id)`;
  console.log(`# ${USERS} users, 2 instances: confirm → document delivered p50 ${pct(e2e, 50)} ms, p95 ${pct(e2e, 95)} ms, max ${Math.max(...e2e)} ms`);
  console.log(`# render time per card (900×1200): p50 ${pct(render, 50)} ms, p95 ${pct(render, 95)} ms`);
  console.log(`# injected faults: ${injected.filter((c) => c.status === 429).length}×429, ${injected.filter((c) => c.status === 500).length}×500; ` +
    `webhook hits per instance ${p.hits.join('/')}; send attempts left uncommitted then retried (failed calls; a duplicate only if Telegram had processed one): ${dup[0].n}`);
});
