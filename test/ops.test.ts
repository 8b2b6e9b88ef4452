// Operations (issue 7): /metrics scraped and parsed, deploy/alerts.yml against the
// metrics the app exports, the dashboard's JSON and its admin retry, Sentry envelopes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startApp, type RunningApp } from '../src/main.ts';
import { PostgresStore } from '../src/db/postgres.ts';
import type { Store } from '../src/db/store.ts';
import { SupabaseStore } from '../src/db/supabase.ts';
import { instrumentStore, jobMetricsHooks, registry } from '../src/metrics.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { spawnCli, runCli } from './support/procs.ts';
import { waitFor } from './support/wait.ts';

const log = createLogger({ level: 'silent' });
const ADMIN_TOKEN = 'test-admin-token-0123456789';

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Family { name: string; type: string; help: string; samples: Sample[] }

/** A small parser for Prometheus text format 0.0.4: every line must be well-formed. */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
    return f;
  };
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (-?(?:[0-9.e+-]+|NaN|\\+Inf|-Inf))(?: -?\\d+)?$`);
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) { family(m[1]).help = m[2]; continue; }
    if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) { family(m[1]).type = m[2]; continue; }
    m = sampleRe.exec(line);
    assert.ok(m, `malformed exposition line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      labelRe.lastIndex = 0;
      let l: RegExpExecArray | null;
      let consumed = 0;
      while ((l = labelRe.exec(m[2]))) { labels[l[1]] = l[2]; consumed = labelRe.lastIndex; }
      assert.equal(consumed, m[2].length, `malformed labels: ${line}`);
    }
    const base = [...families.keys()].find((f) => m![1] === f || (/_(bucket|sum|count)$/.test(m![1]) && m![1].replace(/_(bucket|sum|count)$/, '') === f));
    assert.ok(base, `sample ${m[1]} without a # TYPE line`);
    families.get(base)!.samples.push({ name: m[1], labels, value: Number(m[3].replace('+Inf', 'Infinity')) });
  }
  return families;
}

const value = (fams: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
  (fams.get(name) ?? fams.get(name.replace(/_(bucket|sum|count)$/, '')))?.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

describe('GET /metrics, /ops and the retry endpoint', () => {
  let db: TestDb;
  let app: RunningApp;
  let base: string;

  before(async () => {
    db = await createTestDb();
    // MAINTENANCE_EVERY_S=0: the history and counts below are the test's own jobs only
    const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', INSTANCE_ID: 'ops-test', ADMIN_TOKEN, POLL_INTERVAL_MS: '100', MAINTENANCE_EVERY_S: '0' });
    app = await startApp(config, log, { bot: false });
    base = `http://127.0.0.1:${app.port}`;
  });
  after(async () => {
    await app.stop();
    await db.drop();
  });

  test('scrapes and parses: seed 002 job metrics by kind, queue depth, DB status, Node defaults', async () => {
    await app.store.enqueue([
      { kind: 'noop', payload: { ms: 1 } }, { kind: 'noop', payload: { ms: 1 } },
      { kind: 'noop', payload: { ms: 'not a number', secret: 'payload-marker' } }, // permanent: dead at once
    ]);
    await waitFor(async () => { const s = await app.store.stats(); return s.dead === 1 && s.queued === 0 && s.running === 0; }, 5_000, 'the three jobs to settle', 100);
    // /metrics reads the queue figures through the stats cache /queue fills: wait until it
    // holds counts fetched after the jobs settled.
    const [{ now }] = await db.sql`select now()`;
    await waitFor(async () => Date.parse((await (await fetch(`${base}/queue`)).json()).at) >= now.getTime(), 5_000, 'the stats cache to refresh');
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const fams = parsePrometheus(text);
    assert.equal(fams.get('worker_jobs_total')?.type, 'counter');
    assert.equal(value(fams, 'worker_jobs_total', { kind: 'noop' }), 3);
    assert.equal(value(fams, 'worker_jobs_completed_total', { kind: 'noop' }), 2);
    assert.equal(value(fams, 'worker_jobs_failed_total', { kind: 'noop', outcome: 'dead' }), 1);
    assert.equal(fams.get('worker_jobs_processing')?.type, 'gauge');
    assert.equal(value(fams, 'worker_jobs_processing'), 0);
    assert.equal(fams.get('worker_job_duration_seconds')?.type, 'histogram');
    assert.equal(value(fams, 'worker_job_duration_seconds_count', { kind: 'noop', status: 'succeeded' }), 2);
    assert.equal(value(fams, 'worker_job_duration_seconds_bucket', { kind: 'noop', status: 'succeeded', le: '+Inf' }), 2);
    assert.equal(value(fams, 'queue_jobs', { status: 'dead' }), 1);
    assert.equal(value(fams, 'queue_jobs', { status: 'queued' }), 0);
    assert.equal(value(fams, 'queue_live_workers'), 1);
    assert.equal(value(fams, 'worker_db_connection_status'), 1);
    assert.equal(value(fams, 'worker_db_reconnect_attempts_total'), 0);
    for (const name of ['worker_lease_takeovers_total', 'telegram_api_errors_total', 'ai_provider_calls_total',
      'ai_rate_limit_waits_total', 'process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds'])
      assert.ok(fams.has(name), `exports ${name}`);
    assert.doesNotMatch(text, /payload-marker/);
  });

  test('/ops: an hour of per-minute history, dead and retrying jobs without payloads', async () => {
    await db.sql`insert into public.jobs (kind, payload, status, attempts, last_error, run_at)
                 values ('noop', '{"secret":"payload-marker"}', 'queued', 1, 'boom: retry me', now() + interval '1 hour')`;
    const res = await fetch(`${base}/ops`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const body = JSON.parse(text);
    assert.equal(body.admin, true);
    assert.equal(body.history.length, 60);
    assert.ok(body.history.every((p: { succeeded: number; failed: number }) => Number.isInteger(p.succeeded) && Number.isInteger(p.failed)));
    assert.equal(body.history.reduce((a: number, p: { succeeded: number }) => a + p.succeeded, 0), 2);
    assert.equal(body.history.reduce((a: number, p: { failed: number }) => a + p.failed, 0), 1);
    assert.equal(body.dead.length, 1);
    assert.match(body.dead[0].lastError, /invalid payload for noop/);
    assert.equal(body.failed[0].lastError, 'boom: retry me');
    assert.doesNotMatch(text, /payload-marker|"payload"/);
  });

  test('retry: read-only without the token, 401 on a wrong one, queued again with it', async () => {
    const [dead] = await app.store.listJobs({ status: 'dead' });
    const retry = (auth?: string) => fetch(`${base}/ops/jobs/${dead.id}/retry`, { method: 'POST', headers: auth ? { authorization: auth } : {} });
    assert.equal((await retry()).status, 401);
    assert.equal((await retry('Bearer wrong-token-wrong-token')).status, 401);
    const ok = await retry(`Bearer ${ADMIN_TOKEN}`);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).job.status, 'queued');
    // (the worker may already have run it again: it has a bad payload and dies at once)
    const [waiting] = await app.store.listJobs({ status: 'failed' });
    const notDead = await fetch(`${base}/ops/jobs/${waiting.id}/retry`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(notDead.status, 404, 'only dead or canceled jobs can be retried');
    assert.equal((await fetch(`${base}/ops/jobs/abc/retry`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, 400);
  });

  test('ops routes are not under /api, whose auth is the API key', async () => {
    const [dead] = await app.store.listJobs({ status: 'dead', limit: 1 });
    const old = await fetch(`${base}/api/ops`);
    assert.equal(old.status, 404);
    assert.equal((await old.json()).error.code, 'not_found');
    const r = await fetch(`${base}/api/jobs/${dead?.id ?? 1}/retry`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(r.status, 404, 'the admin token opens nothing under /api');
    // and the API key guard does not stand in front of /ops
    assert.equal((await fetch(`${base}/ops`, { headers: { authorization: 'Bearer nc_not_a_key' } })).status, 200);
  });

  test('the dashboard page and its script are served with a strict CSP', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await page.text(), /<script src="\/dashboard.js">/);
    const js = await fetch(`${base}/dashboard.js`);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
  });
});

test('without ADMIN_TOKEN the dashboard is read-only', async () => {
  const db = await createTestDb();
  const app = await startApp(loadConfig({ DATABASE_URL: db.url, PORT: '0', INSTANCE_ID: 'ro' }), log, { bot: false, worker: false });
  try {
    const base = `http://127.0.0.1:${app.port}`;
    assert.equal((await (await fetch(`${base}/ops`)).json()).admin, false);
    const r = await fetch(`${base}/ops/jobs/1/retry`, { method: 'POST', headers: { authorization: 'Bearer anything-at-all-here' } });
    assert.equal(r.status, 403);
  } finally {
    await app.stop();
    await db.drop();
  }
});

test('deploy/alerts.yml: seed 002 alerts, every expression names only metrics the app exports', async () => {
  const rules = parse(readFileSync(new URL('../deploy/alerts.yml', import.meta.url), 'utf8'));
  const all = rules.groups.flatMap((g: { rules: unknown[] }) => g.rules) as { alert: string; expr: string; labels: { severity: string }; annotations: { summary: string } }[];
  const names = all.map((r) => r.alert);
  for (const a of ['QueueBacklogGrowing', 'HighJobFailureRate', 'NoLiveWorkers', 'JobsStuck', 'SlowJobs', 'DeadJobsAppearing', 'RateLimitExhausted'])
    assert.ok(names.includes(a), `has ${a}`);

  const exported = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    exported.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(m.name + s);
  }
  // Series Prometheus itself attaches to every scrape target.
  const synthetic = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
  const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'Inf', 'NaN']);
  for (const r of all) {
    assert.ok(r.expr && r.labels?.severity && r.annotations?.summary, `${r.alert} has expr, severity and summary`);
    const stripped = r.expr
      .replace(/"(?:[^"\\]|\\.)*"/g, '""')                                   // strings
      .replace(/\{[^}]*\}/g, '')                                             // label matchers
      .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // grouping label lists
      .replace(/\[[^\]]*\]/g, '');                                           // range selectors
    const idents = [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\()?)/g)]
      .filter((m) => !m[1] && !KEYWORDS.has(m[0]))                           // not a function call or keyword
      .map((m) => m[0]);
    assert.ok(idents.length > 0, `${r.alert} names a metric`);
    for (const id of idents) assert.ok(exported.has(id) || synthetic.has(id), `${r.alert}: ${id} is not exported by the app`);
  }
});

async function envelopeServer() {
  const envelopes: { url: string; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { envelopes.push({ url: req.url ?? '', body: Buffer.concat(chunks).toString() }); res.writeHead(200).end('{}'); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { envelopes, port: (server.address() as { port: number }).port, close: () => server.close() };
}

test('Sentry: an uncaught exception is reported (tagged with the instance, token scrubbed) before the process exits', async () => {
  const srv = await envelopeServer();
  const code = `
    import { initErrorTracking } from './src/errors.ts';
    import { createLogger } from './src/log.ts';
    initErrorTracking({ dsn: 'http://k@127.0.0.1:${srv.port}/7', instanceId: 'inst-x', environment: 'test', log: createLogger({ level: 'silent' }) });
    setTimeout(() => { throw new Error('kaboom 123456789:AAE-secret-bot-token-abcdefghijklmnopqrs'); }, 10);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url).pathname, stdio: 'ignore' });
  const exit = await new Promise<number | null>((r) => child.on('exit', r));
  srv.close();
  assert.equal(exit, 1, 'still exits like an uncaught exception');
  const sent = srv.envelopes.find((e) => e.body.includes('kaboom'));
  assert.ok(sent, 'the crash was reported');
  const event = JSON.parse(sent.body.split('\n')[2]);
  assert.equal(event.tags.instance, 'inst-x');
  assert.equal(event.exception.values[0].mechanism.handled, false);
  assert.doesNotMatch(sent.body, /AAE-secret-bot-token/);
});

describe('Sentry', () => {
  let db: TestDb;
  before(async () => { db = await createTestDb(); });
  after(async () => { await db.drop(); });

  test('a job going dead sends an envelope tagged with instance, kind and id; no payload or token; flushed on shutdown', async () => {
    const envelopes: { url: string; body: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => { envelopes.push({ url: req.url ?? '', body: Buffer.concat(chunks).toString() }); res.writeHead(200).end('{}'); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const token = '123456789:AAE-secret-bot-token-abcdefghijklmnopqrs';
    const app = spawnCli(['start', '--no-bot'], {
      DATABASE_URL: db.url, PORT: '0', INSTANCE_ID: 'sentry-test', POLL_INTERVAL_MS: '100',
      SENTRY_DSN: `http://0123456789abcdef@127.0.0.1:${port}/42`, TELEGRAM_BOT_TOKEN: token, LOG_LEVEL: 'info',
    });
    try {
      await app.waitForJson((o: { msg?: string }) => o.msg === 'worker pool started');
      const [job] = await db.sql`insert into public.jobs (kind, payload) values ('noop', ${db.sql.json({ ms: 'bad', note: 'payload-marker', token })}) returning id::text`;
      await app.waitForJson((o: { msg?: string; job?: string }) => o.msg === 'job failed' && o.job === job.id);
      app.child.kill('SIGTERM');
      assert.equal((await app.exited).code, 0);
      await waitFor(async () => envelopes.length > 0, 2_000, 'an envelope', 100).catch(() => {}); // asserted just below
      const sent = envelopes.find((e) => e.body.includes('JobDead'));
      assert.ok(sent, `an envelope arrived (got ${envelopes.length})`);
      assert.match(sent.url, /^\/api\/42\/envelope\//);
      const [header, , event] = sent.body.split('\n').map((l) => (l ? JSON.parse(l) : null));
      assert.ok(header.event_id, "envelope header names the event");
      assert.equal(event.tags.instance, 'sentry-test');
      assert.equal(event.tags.job_kind, 'noop');
      assert.equal(event.tags.job_id, job.id);
      assert.match(event.exception.values[0].value, new RegExp(`job noop ${job.id} is dead`));
      assert.doesNotMatch(sent.body, /payload-marker|AAE-secret-bot-token/);
      assert.equal(event.request, undefined);
    } finally {
      if (app.child.exitCode === null) app.child.kill('SIGKILL');
      server.close();
    }
  });
});

describe('CLI: jobs, progress, errors and exit codes', () => {
  let db: TestDb;
  before(async () => { db = await createTestDb(); });
  after(async () => { await db.drop(); });

  const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { DATABASE_URL: db.url, ...env });

  test('jobs --status dead: a readable table, --kind, --limit, --json without payloads', async () => {
    await db.sql`
      insert into public.jobs (kind, payload, status, attempts, max_attempts, last_error, finished_at)
      select k, '{"secret":"payload-marker"}', 'dead', 5, 5, 'boom ' || k || ' #' || i, now() - make_interval(mins => i)
        from generate_series(1, 3) i, unnest(array['render-card', 'deliver-card']) k`;
    let r = await run(['jobs', '--status', 'dead']);
    assert.equal(r.code, 0, r.out);
    const lines = r.out.split('\n');
    assert.match(lines[0], /^id\s+kind\s+status\s+attempts\s+when\s+error$/);
    assert.equal(lines.length, 7);
    assert.match(lines[1], /^\d+\s+(render|deliver)-card\s+dead\s+5\/5\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+boom \S+ #1$/);
    r = await run(['jobs', '--status', 'dead', '--kind', 'render-card', '--limit', '2', '--json']);
    assert.equal(r.code, 0, r.out);
    const jobs = JSON.parse(r.out);
    assert.equal(jobs.length, 2);
    assert.deepEqual(jobs.map((j: { kind: string }) => j.kind), ['render-card', 'render-card']);
    assert.deepEqual(jobs.map((j: { lastError: string }) => j.lastError), ['boom render-card #1', 'boom render-card #2']);
    assert.doesNotMatch(r.out, /payload-marker/);
    r = await run(['jobs', '--status', 'canceled']);
    assert.equal(r.out, 'no canceled jobs');
  });

  test('usage errors exit 2 with the reason; an unreachable database exits 1 saying so', async () => {
    let r = await run(['jobs']);
    assert.equal(r.code, 2);
    assert.match(r.out, /jobs needs --status, one of dead, failed/);
    r = await run(['jobs', '--status', 'zombie']);
    assert.equal(r.code, 2);
    assert.match(r.out, /got "zombie"/);
    r = await run(['jobs', '--status', 'dead', '--limit', 'lots']);
    assert.equal(r.code, 2);
    assert.match(r.out, /--limit must be a whole number above 0, got "lots"/);
    r = await run(['stats', '--verbose']);
    assert.equal(r.code, 2);
    assert.match(r.out, /Unknown option '--verbose'/);
    r = await run(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.out, /unknown command "frobnicate"/);
    r = await run(['stats'], { DATABASE_URL: 'postgres://nobody:hunter2-secret@127.0.0.1:1/none' });
    assert.equal(r.code, 1);
    assert.match(r.out, /cannot reach the database/);
    assert.doesNotMatch(r.out, /hunter2-secret/);
  });

  test('enqueue of many and prune show progress', async () => {
    let r = await run(['enqueue', 'noop', '--count', '2500']);
    assert.equal(r.code, 0, r.out);
    const bars = r.out.split('\n').filter((l) => l.startsWith('enqueue ['));
    assert.deepEqual(bars.map((l) => /(\d+)\/2500/.exec(l)?.[1]), ['1000', '2000', '2500']);
    assert.match(bars.at(-1)!, /\[#{30}\] 100% 2500\/2500/);
    assert.match(r.out, /enqueued 2500 noop jobs/);
    await db.sql`update public.jobs set status = 'succeeded', finished_at = now() - interval '2 days' where status = 'queued'`;
    r = await run(['prune']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /prune: 2500 so far/);
    assert.match(r.out, /deleted 2500 finished jobs past retention/);
  });
});

describe('ops store operations on both adapters', () => {
  let db: TestDb;
  before(async () => {
    db = await createTestDb();
    await db.sql`
      insert into public.jobs (kind, payload, status, attempts, last_error, finished_at, run_at) values
        ('a', '{}', 'dead', 5, 'a died', now() - interval '3 minutes', now()),
        ('b', '{}', 'dead', 5, 'b died', now() - interval '1 minute', now()),
        ('a', '{}', 'queued', 1, 'a retrying', null, now() + interval '1 minute'),
        ('a', '{}', 'queued', 0, null, null, now())`;
    await db.sql`insert into public.job_stats (bucket, kind, worker, succeeded) values
      (date_trunc('minute', now()) - interval '2 minutes', 'a', 'w1', 7),
      (date_trunc('minute', now()) - interval '2 minutes', 'b', 'w2', 3),
      (date_trunc('minute', now()) - interval '2 hours', 'a', 'w1', 100)`;
  });
  after(async () => { await db.drop(); });

  const check = async (store: Store) => {
    assert.deepEqual((await store.listJobs({ status: 'dead' })).map((j) => j.lastError), ['b died', 'a died']);
    assert.deepEqual((await store.listJobs({ status: 'dead', kind: 'a' })).map((j) => j.kind), ['a']);
    assert.equal((await store.listJobs({ status: 'dead', limit: 1 })).length, 1);
    assert.deepEqual((await store.listJobs({ status: 'failed' })).map((j) => j.lastError), ['a retrying']);
    assert.equal((await store.listJobs({ status: 'queued' })).length, 2);
    await assert.rejects(store.listJobs({ status: 'zombie' as never }), /unknown job status/);
    const h = await store.history(60);
    assert.equal(h.length, 60);
    assert.ok(h.every((p, i) => i === 0 || Date.parse(p.minute) - Date.parse(h[i - 1].minute) === 60_000));
    assert.equal(h.reduce((a, p) => a + p.succeeded, 0), 10, 'only the last hour');
    assert.equal(h.reduce((a, p) => a + p.failed, 0), 2);
    assert.equal(h.at(-3)!.succeeded, 10);
  };

  test('direct (postgres.js)', async () => {
    const store = new PostgresStore({ url: db.url, poolSize: 2, prepare: true });
    try { await check(store); } finally { await store.close(); }
  });

  test('rpc (supabase-js via the PostgREST shim)', async () => {
    const { startPostgrest } = await import('./support/postgrest.ts');
    const rest = await startPostgrest({ databaseUrl: db.url });
    const store = new SupabaseStore({ url: rest.url, serviceRoleKey: rest.serviceRoleKey });
    try { await check(store); } finally { await store.close(); await rest.close(); }
  });
});

test('metrics: DB connection status and reconnect attempts; lease takeovers from heartbeats and claims', async () => {
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name)!;
    return (m.values as { value: number; labels: Record<string, string | number> }[])
      .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0);
  };
  // A database nobody listens on: connection errors.
  const down = instrumentStore(new PostgresStore({ url: 'postgres://x:y@127.0.0.1:1/none', poolSize: 1, prepare: false }), 'w-me');
  await assert.rejects(down.ping());
  assert.equal(await metric('worker_db_connection_status'), 0);
  const before = await metric('worker_db_reconnect_attempts_total');
  await assert.rejects(down.ping());
  // At least this call; reading the metrics may refresh another app's cached /queue stats
  // through the same (down-marked) counter, which is one more attempt.
  assert.ok(await metric('worker_db_reconnect_attempts_total') >= before + 1);
  await down.close();

  // A fake store: the database no longer lists job 1 as ours; job 2 was taken from a dead worker.
  const job = (id: string, lastError: string | null) => ({ id, kind: 'noop', lastError }) as never;
  const fake = {
    heartbeat: async () => ({ owned: [] as string[], canceled: [] as string[] }),
    claim: async () => [job('2', 'lease expired: worker w-dead stopped heartbeating'), job('3', 'boom')],
    ping: async () => {},
  } as unknown as Store;
  const store = instrumentStore(fake, 'w-me');
  const hooks = jobMetricsHooks();
  const lost0 = await metric('worker_lease_takeovers_total', { side: 'lost' });
  const took0 = await metric('worker_lease_takeovers_total', { side: 'took_over' });
  hooks.onStart(job('1', null));
  await sleep(2);
  await store.heartbeat({ workerId: 'w-me', concurrency: 1, inFlight: 1, leaseSeconds: 30, ids: ['1'] });
  assert.equal(await metric('worker_lease_takeovers_total', { side: 'lost' }), lost0 + 1);
  assert.equal(await metric('worker_jobs_processing', { kind: 'noop' }), 0, 'a lost job is no longer in flight');
  await store.claim('w-me', 2, 30);
  assert.equal(await metric('worker_lease_takeovers_total', { side: 'took_over' }), took0 + 1);
  await store.ping();
  assert.equal(await metric('worker_db_connection_status'), 1);
});
