// Maintenance as scheduled queue jobs (src/worker/schedule.ts): three app instances on
// one database, each with its own store, pool and scheduler as on three machines, run
// every periodic job exactly once per period; a failing maintenance job is retried like
// any other job; both show on the dashboard's /ops and in /metrics.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startApp, type RunningApp } from '../src/main.ts';
import { renderMetrics } from '../src/metrics.ts';
import { periodStart } from '../src/worker/schedule.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { waitFor } from './support/wait.ts';

const log = createLogger({ level: 'silent' });
const KINDS = ['prune-ai-calls', 'prune-bot-tables', 'prune-jobs', 'sweep-api-results'];

/** A counter from /metrics text, or from this process' registry (all in-process instances share it). */
async function counter(base: string | null, name: string, labels: string): Promise<number> {
  const text = base ? await (await fetch(`${base}/metrics`)).text() : await renderMetrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('3 instances, 3 periods', () => {
  const PERIOD_S = 2;
  let db: TestDb;
  let apps: RunningApp[] = [];

  before(async () => {
    db = await createTestDb();
  });
  after(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    await db.drop();
  });

  test('each periodic job runs exactly once per period, whatever the instance count', async () => {
    // Stale rows each maintenance job must remove on its first run.
    const [old] = await db.sql`
      insert into public.jobs (kind, status, attempts, finished_at) values ('noop', 'succeeded', 1, now() - interval '2 days')
      returning id`;
    await db.sql`insert into public.processed_updates (update_id, processed_at) values (42, now() - interval '2 days')`;
    await db.sql`insert into public.api_trash (path) values ('cards/gone.jpg')`;
    await db.sql`insert into public.ai_calls (call_key, order_key, state, paid_calls, result, recorded_at)
      values ('bot:9:v1:backdrop', 'bot:9', 'done', 1, '\\x89504e47', now() - interval '2 days'),
             ('bot:9:v2:backdrop', 'bot:9', 'done', 1, '\\x89504e47', now())`;
    const base0 = await Promise.all(KINDS.map((k) => counter(null, 'worker_jobs_total', `kind="${k}"`)));

    apps = await Promise.all(['sched-a', 'sched-b', 'sched-c'].map((id) => startApp(loadConfig({
      DATABASE_URL: db.url, PORT: '0', INSTANCE_ID: id, JOB_CONCURRENCY: '4', MAINTENANCE_EVERY_S: String(PERIOD_S),
    }), log, { bot: false })));
    const bases = apps.map((a) => `http://127.0.0.1:${a.port}`);
    // The first period all three instances were up for; it and the next two are counted.
    const p0 = periodStart(Date.now(), PERIOD_S * 1000);
    const periods = [0, 1, 2].map((i) => new Date(p0 + i * PERIOD_S * 1000).toISOString());

    const count = () => db.sql<{ kind: string; period: string; n: number; attempts: number; succeeded: number }[]>`
      select kind, payload->>'period' as period, count(*)::int as n, sum(attempts)::int as attempts,
             count(*) filter (where status = 'succeeded')::int as succeeded
        from public.jobs where kind in ${db.sql(KINDS)} and payload->>'period' in ${db.sql(periods)}
       group by 1, 2 order by 1, 2`;
    await waitFor(async () => (await count()).filter((r) => r.period === periods[2] && r.succeeded > 0).length === KINDS.length,
      (3 * PERIOD_S + 20) * 1000, 'the third period\'s jobs to succeed', 100);
    // Every instance tried each period: its scheduler holds the third period's job, the same one on all three.
    const seen = await waitFor(async () => {
      const ops = await Promise.all(bases.map(async (b) => (await (await fetch(`${b}/ops`)).json()).schedules as
        { kind: string; period: string; job: { id: string; status: string } | null }[]));
      return ops.every((s) => s.length === KINDS.length && s.every((x) => x.period === periods[2])) && ops;
    }, 10_000, 'every instance to enqueue the third period', 200);
    const metrics = await (await fetch(`${bases[1]}/metrics`)).text();
    for (const k of KINDS) {
      assert.match(metrics, new RegExp(`worker_jobs_completed_total\\{kind="${k}"\\} [1-9]`), `${k} in /metrics`);
      const ids = seen.map((s) => s.find((x) => x.kind === k)!.job?.id);
      assert.equal(new Set(ids).size, 1, `${k}: one job for the period on all instances, got ${ids}`);
    }
    await Promise.all(apps.map((a) => a.stop()));

    const rows = await count();
    assert.deepEqual(rows.map((r) => ({ ...r })), KINDS.flatMap((kind) => periods.map((period) => ({ kind, period, n: 1, attempts: 1, succeeded: 1 }))),
      'one job per kind and period, run once');
    // Ran: handler starts (every instance, every period that fired until the stop) equal the rows, one run each.
    for (const [i, k] of KINDS.entries()) {
      const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int as n from public.jobs where kind = ${k}`;
      const started = await counter(null, 'worker_jobs_total', `kind="${k}"`);
      assert.equal(started - base0[i], n, `${k}: ${started - base0[i]} runs for ${n} jobs`);
      assert.ok(n >= 3 && n <= 5, `${k}: ${n} jobs`);
    }
    // Their effects: the stale rows are gone.
    assert.equal((await db.sql`select 1 from public.jobs where id = ${old.id}`).length, 0, 'prune-jobs deleted the old job');
    assert.equal((await db.sql`select 1 from public.processed_updates where update_id = 42`).length, 0, 'prune-bot-tables ran');
    assert.equal((await db.sql`select 1 from public.api_trash`).length, 0, 'sweep-api-results ran');
    assert.deepEqual((await db.sql`select call_key from public.ai_calls where result is not null`).map((r) => r.call_key),
      ['bot:9:v2:backdrop'], 'prune-ai-calls cleared the old backdrop bytes, kept the fresh ones');
  });
});

describe('a failing maintenance job', () => {
  let db: TestDb;
  let app: RunningApp;
  let base: string;

  before(async () => {
    db = await createTestDb();
    // bot_prune() fails while its table is away: a real database error, not a stub.
    await db.sql`alter table public.processed_updates rename to processed_updates_away`;
    app = await startApp(loadConfig({ DATABASE_URL: db.url, PORT: '0', INSTANCE_ID: 'sched-retry', MAINTENANCE_EVERY_S: '3600' }), log, { bot: false });
    base = `http://127.0.0.1:${app.port}`;
  });
  after(async () => {
    await app.stop();
    await db.drop();
  });

  test('is retried with backoff like any job, and shows on the dashboard and in /metrics', async () => {
    const retriesBefore = await counter(base, 'worker_jobs_failed_total', 'kind="prune-bot-tables",outcome="retry"');
    const key = `schedule:prune-bot-tables:${new Date(periodStart(Date.now(), 3_600_000)).toISOString()}`;
    const failed = await waitFor(async () => {
      const [j] = await db.sql`select id, status, attempts, last_error from public.jobs where idempotency_key = ${key}`;
      return j?.status === 'queued' && j.attempts === 1 && j;
    }, 10_000, 'the first attempt to fail', 20);
    assert.match(failed.last_error, /processed_updates/);
    const ops = await (await fetch(`${base}/ops`)).json();
    assert.ok(ops.failed.some((j: { id: string }) => j.id === String(failed.id)), 'listed under "Failed, retrying"');
    assert.equal(ops.schedules.find((s: { kind: string }) => s.kind === 'prune-bot-tables').job.id, String(failed.id));
    assert.equal(await counter(base, 'worker_jobs_failed_total', 'kind="prune-bot-tables",outcome="retry"'), retriesBefore + 1);

    await db.sql`alter table public.processed_updates_away rename to processed_updates`;
    const done = await waitFor(async () => {
      const [j] = await db.sql`select status, attempts from public.jobs where id = ${failed.id}`;
      return j?.status === 'succeeded' && j;
    }, 40_000, 'the retry to succeed', 50);
    assert.ok(done.attempts >= 2, `attempts ${done.attempts}`);
    assert.ok(await counter(base, 'worker_jobs_completed_total', 'kind="prune-bot-tables"') >= 1);
    // The schedule did not enqueue a second job for the period while the first was retrying.
    const [{ n }] = await db.sql`select count(*)::int as n from public.jobs where kind = 'prune-bot-tables'`;
    assert.ok(n <= 2, `${n} prune-bot-tables jobs (one, or two across an hour boundary)`);
  });
});
