// The dashboard in a real browser (Debian's chromium driven by playwright-core): the
// numbers it shows match /queue, Retry on a dead job queues it again, and a screenshot
// is saved (test/output/dashboard.png; UPDATE_SCREENSHOT=1 writes docs/dashboard.png for the README).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startApp, type RunningApp } from '../src/main.ts';
import { createTestDb, type TestDb } from './support/db.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN_TOKEN = 'dashboard-admin-token-0123456789';
const log = createLogger({ level: 'silent' });

let db: TestDb;
let app: RunningApp;
let browser: Browser;
let base: string;

before(async () => {
  db = await createTestDb();
  // No worker in this process: the state below stays put while the browser reads it.
  app = await startApp(loadConfig({ DATABASE_URL: db.url, PORT: '0', INSTANCE_ID: 'web-1', ADMIN_TOKEN }), log, { bot: false, worker: false });
  base = `http://127.0.0.1:${app.port}`;
  const { store } = app;
  // Two live instances, as two Render instances would report themselves.
  for (const [id, inFlight] of [['srv-d4k2-a7f9', 18], ['srv-d4k2-b3c1', 6]] as const)
    await store.heartbeat({ workerId: id, concurrency: 25, inFlight, leaseSeconds: 3600, ids: [] });
  // An hour of history: succeeded per minute in the rollup, a few jobs gone dead.
  await db.sql`
    insert into public.job_stats (bucket, kind, worker, succeeded, dur_sum_ms, dur_hist)
    select date_trunc('minute', now()) - make_interval(mins => m), k, 'srv-d4k2-a7f9',
           (40 + 25 * sin(m / 7.0) + (m * 37 % 17))::int * case when k = 'render-card' then 2 else 1 end, 900 * 40,
           (select array_agg(case i when 11 then 30 when 12 then 8 when 13 then 1 else 0 end order by i) from generate_series(1, 24) i)
      from generate_series(0, 59) m, unnest(array['render-card', 'deliver-card']) k`;
  await db.sql`
    insert into public.jobs (kind, payload, status, attempts, max_attempts, last_error, finished_at)
    select 'render-card', '{"orderId": "o-1"}', 'dead', 5, 5,
           (array['TimeoutError: timed out after 60000 ms', 'PermanentError: photo is not an image (bad file)',
                  'Error: AI provider answered 502 Bad Gateway'])[1 + m % 3],
           now() - make_interval(mins => m * 7 + 2)
      from generate_series(0, 5) m`;
  await db.sql`
    insert into public.jobs (kind, payload, status, attempts, max_attempts, last_error, finished_at)
    values ('deliver-card', '{"orderId": "o-2"}', 'dead', 10, 10, 'GrammyError: Call to sendPhoto failed! (403: Forbidden: bot was blocked by the user)', now() - interval '90 seconds')`;
  await db.sql`
    insert into public.jobs (kind, payload, status, attempts, last_error, run_at)
    values ('deliver-card', '{}', 'queued', 2, 'GrammyError: Call to sendDocument failed! (429: Too Many Requests: retry after 14)', now() + interval '14 seconds'),
           ('render-card', '{}', 'queued', 1, 'Error: AI provider answered 429 (rate limited)', now() + interval '3 minutes')`;
  await store.enqueue(Array.from({ length: 42 }, (_, i) => ({ kind: i % 3 ? 'render-card' : 'deliver-card', payload: {} })));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu'],
  });
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await db?.drop();
});

test('the dashboard shows what /queue says, retries a dead job, and is screenshotted', async () => {
  assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH`);
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${base}/?refresh=1000`);
  await page.waitForFunction(() => Number(document.body.dataset.loaded) >= 1);

  const shown = async () => page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll<HTMLElement>('[data-k]')].map((e) => [e.dataset.k, e.textContent])));
  const q = await (await fetch(`${base}/queue`)).json();
  const s = await shown();
  assert.equal(s.queued, String(q.queued));
  assert.equal(s.processing, String(q.processing));
  assert.equal(s.scheduled, String(q.scheduled));
  assert.equal(s.dead, String(q.dead));
  assert.equal(s.workers, String(q.workers));
  assert.equal(s.succeeded24h, String(q.last24h.succeeded));
  assert.equal(q.queued, 42);
  assert.equal(q.dead, 7);
  assert.equal(q.workers, 2);
  assert.equal(await page.locator('#instances tr').count(), 2);
  assert.match(await page.locator('#instances').innerText(), /18 \/ 25/);
  assert.equal(await page.locator('#chart rect').count() > 60, true, 'bars for the hour');
  assert.match(await page.locator('#failed').innerText(), /429: Too Many Requests/);

  // Screenshot of the resting state for the README.
  const shot = new URL(process.env.UPDATE_SCREENSHOT ? '../docs/dashboard.png' : './output/dashboard.png', import.meta.url).pathname;
  mkdirSync(dirname(shot), { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });

  // Retry: the token goes in the header field; the dead job is queued again.
  await page.fill('#token', ADMIN_TOKEN);
  await page.locator('#token').dispatchEvent('change');
  const row = page.locator('#dead tr', { hasText: 'bot was blocked by the user' });
  const id = await row.getAttribute('data-job');
  assert.ok(id);
  await row.locator('button.retry').click();
  await page.locator('#toast', { hasText: `job ${id} queued again` }).waitFor();
  const job = await app.store.getJob(id);
  assert.equal(job?.status, 'queued');
  assert.equal(job?.attempts, 0);
  await page.waitForFunction((id) => !document.querySelector(`#dead tr[data-job="${id}"]`), id);
  await page.waitForFunction(() => document.querySelector('[data-k="queued"]')?.textContent === '43');
  const after = await (await fetch(`${base}/queue`)).json();
  const s2 = await shown();
  assert.equal(s2.queued, String(after.queued));
  assert.equal(s2.dead, String(after.dead));
  assert.equal(after.dead, 6);
  assert.deepEqual(errors, []);
});

test('read-only when the server has no ADMIN_TOKEN: no token field, no Retry buttons', { skip: !existsSync(CHROMIUM) && `no chromium at ${CHROMIUM}` }, async () => {
  const ro = await startApp(loadConfig({ DATABASE_URL: db.url, PORT: '0', INSTANCE_ID: 'web-ro' }), log, { bot: false, worker: false });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${ro.port}/`);
    await page.waitForFunction(() => Number(document.body.dataset.loaded) >= 1);
    assert.equal(await page.locator('button.retry').count(), 0);
    assert.equal(await page.locator('#admin').isVisible(), false);
    assert.match(await page.locator('#readonly').innerText(), /read-only/);
  } finally {
    await ro.stop();
  }
});
