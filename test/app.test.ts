// The whole process: /queue and /healthz over real HTTP, the CLI, and the embedded
// default that `npm start` uses on a fresh machine.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startApp, type RunningApp } from '../src/main.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { spawnCli, runCli } from './support/procs.ts';
import { startOnFreePort, waitFor } from './support/wait.ts';

const log = createLogger({ level: 'silent' });


describe('HTTP /queue and /healthz', () => {
  let db: TestDb;
  let app: RunningApp;
  const SECRET_PASSWORD = 'queue-test-s3cret';
  let base: string;
  const queue = async () => { const r = await fetch(`${base}/queue`); return { at: '', ...(await r.json()), code: r.status }; };
  /** /queue once its cached counts were fetched after this moment (the stats cache refreshed). */
  const queueAfterNow = async () => {
    const [{ now }] = await db.sql`select now()`;
    return waitFor(async () => { const q = await queue(); return Date.parse(q.at) >= now.getTime() && q; }, 5_000, 'the stats cache to refresh');
  };

  before(async () => {
    db = await createTestDb();
    await db.sql.unsafe(`create role nc_app login password '${SECRET_PASSWORD}' superuser`).catch(() => {});
    const u = new URL(db.url);
    u.username = 'nc_app';
    u.password = SECRET_PASSWORD;
    const config = loadConfig({ DATABASE_URL: u.toString(), PORT: '0', INSTANCE_ID: 'http-test', JOB_CONCURRENCY: '7' });
    app = await startApp(config, log, { bot: false });
    base = `http://127.0.0.1:${app.port}`;
  });
  after(async () => {
    await app.stop();
    await db.drop();
  });

  test('GET /queue: the figures, this instance among the live workers, no secrets or payloads', async () => {
    await app.store.enqueue([{ kind: 'noop', payload: { ms: 0, secretNote: 'payload-marker' } as never, fairKey: 'tg-user-777' }]);
    await app.store.enqueue([{ kind: 'noop', runAt: new Date(Date.now() + 3_600_000) }]);
    await queueAfterNow(); // counts that include the two jobs
    const res = await fetch(`${base}/queue`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const text = await res.text();
    const body = JSON.parse(text);
    for (const k of ['queued', 'processing', 'scheduled', 'dead', 'workers', 'instances', 'oldestQueuedSeconds', 'last24h'])
      assert.ok(k in body, `has ${k}`);
    assert.equal(body.status, 'ok');
    assert.equal(body.scheduled, 1);
    assert.equal(body.workers, 1);
    assert.deepEqual(Object.keys(body.instances[0]).sort(), ['concurrency', 'id', 'inFlight', 'lastHeartbeatAt', 'startedAt']);
    assert.equal(body.instances[0].id, 'http-test');
    assert.equal(body.instances[0].concurrency, 7);
    for (const k of ['succeeded', 'failed', 'avgSeconds', 'p95Seconds']) assert.ok(k in body.last24h);
    assert.doesNotMatch(text, /queue-test-s3cret|payload-marker|tg-user-777|postgres:\/\//);
  });

  test('counts are cached for at most one second', async () => {
    const first = await queueAfterNow(); // a fresh cache: the next request is served from it
    const firstDone = Date.now(); // the counts served were fetched before this
    await app.store.enqueue([{ kind: 'noop', runAt: new Date(Date.now() + 3_600_000) }]);
    const cached = await queue();
    // Poll until the cache refreshes. A stale answer to a request sent `s` ms after
    // firstDone proves the counts were kept longer than s ms.
    let staleFor = 0;
    const fresh = await waitFor(async () => {
      const sent = Date.now() - firstDone;
      const q = await queue();
      if (q.at !== first.at) return q;
      staleFor = Math.max(staleFor, sent);
    }, 5_000, 'the stats cache to refresh', 20);
    assert.equal(cached.scheduled, first.scheduled, 'served from cache');
    assert.equal(fresh.scheduled, first.scheduled + 1, 'refreshed after 1 s');
    assert.ok(staleFor < 1_000, `still served from cache ${staleFor} ms later`);
  });

  test('/healthz answers 200 while healthy; 503 with a reason when the database is gone, 200 again after', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    // Cut this app's connections from the server side, and block new ones.
    await db.sql`alter role nc_app nologin`;
    await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where usename = 'nc_app'`;
    const body = (await waitFor(async () => { const q = await queue(); return q.code === 503 && q; }, 10_000, '/queue to answer 503')) as Record<string, string>;
    assert.equal(body.status, 'unavailable');
    assert.match(body.reason, /database unavailable/);
    assert.doesNotMatch(JSON.stringify(body), new RegExp(SECRET_PASSWORD));
    await db.sql`alter role nc_app login`;
    await waitFor(async () => (await fetch(`${base}/healthz`)).status === 200, 10_000, '/healthz to recover by itself', 250);
  });
});

describe('CLI', () => {
  let db: TestDb;
  before(async () => { db = await createTestDb(); });
  after(async () => { await db.drop(); });

  const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { DATABASE_URL: db.url, ...env });

  test('enqueue, stats --json, retry, requeue, cancel, usage and config errors', async () => {
    let r = await run(['enqueue', 'noop', '--count', '25', '--ms', '3']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /enqueued 25 noop jobs \(3 ms each\)/);
    r = await run(['stats', '--json']);
    assert.equal(r.code, 0, r.out);
    const stats = JSON.parse(r.out.split('\n').find((l) => l.startsWith('{"queued"'))!);
    assert.equal(stats.queued, 25);
    r = await run(['stats']);
    assert.match(r.out, /queued\s+25/);
    const [{ id }] = await db.sql`update public.jobs set status = 'dead', finished_at = now() where id = (select min(id) from public.jobs) returning id::text`;
    r = await run(['retry', id]);
    assert.match(r.out, new RegExp(`job ${id} \\(noop\\) queued again`));
    r = await run(['cancel', id]);
    assert.match(r.out, new RegExp(`job ${id} canceled`));
    await db.sql`update public.jobs set status = 'dead' where id in (select id from public.jobs where status = 'queued' limit 3)`;
    r = await run(['requeue', '--dead', '--kind', 'noop']);
    assert.match(r.out, /requeued 3 dead jobs of kind noop/);
    r = await run(['enqueue', 'noop', '--count', 'many']);
    assert.equal(r.code, 2);
    assert.match(r.out, /--count must be a whole number/);
    r = await run(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.out, /unknown command "frobnicate"/);
    r = await run(['stats'], { JOB_CONCURRENCY: '0', SUPABASE_URL: 'https://x.supabase.co' });
    assert.equal(r.code, 1);
    assert.match(r.out, /JOB_CONCURRENCY[\s\S]*SUPABASE_SERVICE_ROLE_KEY must be set when SUPABASE_URL is set/);
  });
});

describe('embedded default (npm start with no database configured)', () => {
  test('starts an embedded Postgres in the data folder, migrates it, serves, and stops it on SIGTERM', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nc-embedded-'));
    chmodSync(dir, 0o755); // as root, embedded Postgres runs as user "postgres" and must reach it
    let pgPort = 0;
    let app: ReturnType<typeof spawnCli> | undefined;
    let env: Record<string, string> = {};
    try {
      // The embedded Postgres needs its port up front: when another program takes it
      // first, the app exits saying so and starts again on another.
      const line = await startOnFreePort(async (port) => {
        pgPort = port;
        // MAINTENANCE_EVERY_S=0: the job counts below are the test's own jobs only
        env = { DATABASE_URL: '', SUPABASE_URL: '', EMBEDDED_PG_DIR: join(dir, 'data'), EMBEDDED_PG_PORT: String(port), PORT: '0', LOG_LEVEL: 'info', MAINTENANCE_EVERY_S: '0' };
        const started = app = spawnCli(['start'], env);
        return Promise.race([
          started.waitForJson<{ msg: string; port?: number }>((o) => typeof o.port === 'number' && /HTTP on/.test(o.msg), 90_000),
          started.exited.then(() => { throw new Error(started.lines.join('\n')); }),
        ]);
      }, (err) => /cannot listen on port \d+: another program uses it/.test(String(err)));
      await app!.waitForJson((o: { msg?: string }) => o.msg === 'worker pool started', 10_000);
      await app!.waitForJson((o: { msg?: string }) => /bot off: TELEGRAM_BOT_TOKEN is not set/.test(o.msg ?? ''), 10_000);
      assert.ok(app!.lines.some((l) => /database mode: embedded \(neither DATABASE_URL nor SUPABASE_URL is set\)/.test(l)));
      // A second command shares the running embedded database.
      const cli = spawnCli(['enqueue', 'noop', '--count', '5'], env);
      assert.equal((await cli.exited).code, 0, cli.lines.join('\n'));
      const body = await waitFor(async () => {
        const b = await (await fetch(`http://127.0.0.1:${line.port}/queue`)).json() as { status: string; last24h: { succeeded: number } };
        return b.last24h.succeeded === 5 && b;
      }, 10_000, 'the 5 jobs to succeed', 250);
      assert.equal(body.status, 'ok');
      assert.equal(body.last24h.succeeded, 5);
      app!.child.kill('SIGTERM');
      assert.equal((await app!.exited).code, 0);
      // The embedded server is gone with it.
      const probe = await new Promise<boolean>((res) => {
        const s = createServer().once('error', () => res(false)).listen(pgPort, '127.0.0.1', () => s.close(() => res(true)));
      });
      assert.ok(probe, 'embedded Postgres port is free again');
    } finally {
      if (app && app.child.exitCode === null) { app.child.kill('SIGTERM'); await app.exited; }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RPC mode (supabase-js through the PostgREST-compatible server)', () => {
  test('the app runs its pool over RPC, polls, and refuses a database without the schema', async () => {
    const { startPostgrest } = await import('./support/postgrest.ts');
    const db = await createTestDb();
    const empty = await createTestDb({ migrate: false, prefix: 'nc_empty' });
    const rest = await startPostgrest({ databaseUrl: db.url });
    const restEmpty = await startPostgrest({ databaseUrl: empty.url });
    let app: RunningApp | undefined;
    try {
      const bad = loadConfig({ SUPABASE_URL: restEmpty.url, SUPABASE_SERVICE_ROLE_KEY: restEmpty.serviceRoleKey, PORT: '0' });
      await assert.rejects(startApp(bad, log, { bot: false }), /schema is empty.*npx neurocards migrate/);

      const config = loadConfig({ SUPABASE_URL: rest.url, SUPABASE_SERVICE_ROLE_KEY: rest.serviceRoleKey, PORT: '0', POLL_INTERVAL_MS: '500', MAINTENANCE_EVERY_S: '0' });
      assert.equal(config.database.mode, 'rpc');
      app = await startApp(config, log, { bot: false });
      await app.store.enqueue(Array.from({ length: 50 }, () => ({ kind: 'noop', payload: { ms: 2 } })));
      const port = app.port;
      const body = await waitFor(async () => {
        const b = await (await fetch(`http://127.0.0.1:${port}/queue`)).json() as { status: string; last24h: { succeeded: number }; workers: number };
        return b.last24h.succeeded === 50 && b;
      }, 12_000, 'the 50 jobs to succeed', 200);
      assert.equal(body.status, 'ok');
      assert.equal(body.last24h.succeeded, 50);
      assert.equal(body.workers, 1);
      assert.ok(rest.calls > 3, 'went through the RPC server');
    } finally {
      await app?.stop();
      await rest.close();
      await restEmpty.close();
      await db.drop();
      await empty.drop();
    }
  });
});
