// Counters that alerts read with rate()/increase() exist at 0 from start: Prometheus
// only sees a labelled counter's first increment if the series was already scraped.
// Its own file, so the metrics registry of this process has seen no job yet.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startApp, type RunningApp } from '../src/main.ts';
import { createTestDb, type TestDb } from './support/db.ts';

let db: TestDb;
let app: RunningApp;
before(async () => {
  db = await createTestDb();
  // A bot token registers the Telegram job kinds; the bot itself stays off, and the API
  // root points nowhere: nothing here talks to Telegram.
  app = await startApp(loadConfig({
    DATABASE_URL: db.url, PORT: '0', INSTANCE_ID: 'metrics-zero', TELEGRAM_BOT_TOKEN: '424242:zero-zero-zero-zero-zero-zero',
    TELEGRAM_API_ROOT: 'http://127.0.0.1:9',
    MAINTENANCE_EVERY_S: '0', // registered, but no scheduled run moves a counter off 0 here
  }), createLogger({ level: 'silent' }), { bot: false });
});
after(async () => {
  await app.stop();
  await db.drop();
});

test('a fresh app exports worker_jobs_{total,completed_total,failed_total} at 0 for every registered kind', async () => {
  // The kinds this instance registered, as its heartbeat told the database.
  const [w] = await db.sql<{ kinds: string[] }[]>`select meta->'kinds' as kinds from public.workers where id = 'metrics-zero'`;
  assert.deepEqual([...w.kinds].sort(), [
    'api-card', 'api-card-set', 'card-set', 'deliver-card', 'noop', 'prune-ai-calls', 'prune-bot-tables', 'prune-jobs', 'render-card', 'sweep-api-results',
  ]);
  const text = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
  // prom-client writes labels in declaration order, as the expected series below list them.
  const sample = (name: string, labels: Record<string, string>) => {
    const series = Object.keys(labels).length ? `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}` : name;
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : { value: Number(line.slice(series.length + 1)) };
  };
  for (const kind of w.kinds) {
    for (const [name, labels] of [
      ['worker_jobs_total', { kind }], ['worker_jobs_completed_total', { kind }],
      ['worker_jobs_failed_total', { kind, outcome: 'retry' }], ['worker_jobs_failed_total', { kind, outcome: 'dead' }],
    ] as const) assert.equal(sample(name, labels)?.value, 0, `${name}${JSON.stringify(labels)} is exported at 0`);
  }
  // The other labelled counters alerts read, over their fixed label sets.
  for (const outcome of ['ok', 'error', 'rate_limited']) assert.equal(sample('ai_provider_calls_total', { outcome })?.value, 0, `ai_provider_calls_total{outcome="${outcome}"}`);
  for (const window of ['minute', 'hour', 'day', 'unavailable', 'provider_429'])
    assert.equal(sample('ai_rate_limit_waits_total', { window })?.value, 0, `ai_rate_limit_waits_total{window="${window}"}`);
  assert.equal(sample('worker_db_reconnect_attempts_total', {})?.value, 0);
});
