// render.yaml against Render's Blueprint fields, kept in step with the app's config, and
// its build, pre-deploy and start commands run as Render runs them.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { loadConfig } from '../src/config.ts';
import { listMigrations } from '../src/db/migrate.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { ROOT } from './support/procs.ts';

const blueprint = parse(readFileSync(new URL('../render.yaml', import.meta.url), 'utf8'));

// The fields Render's Blueprint spec defines for a service (render.com/docs/blueprint-spec).
const SERVICE_FIELDS = new Set(['type', 'name', 'runtime', 'plan', 'region', 'numInstances', 'scaling', 'buildCommand',
  'startCommand', 'preDeployCommand', 'healthCheckPath', 'maxShutdownDelaySeconds', 'autoDeploy', 'envVars', 'repo',
  'branch', 'rootDir', 'buildFilter', 'disk', 'domains', 'previews', 'pullRequestPreviewsEnabled', 'image',
  'dockerfilePath', 'dockerContext', 'dockerCommand', 'registryCredential', 'autoDeployTrigger', 'ipAllowList']);
const ENV_FIELDS = new Set(['key', 'value', 'sync', 'generateValue', 'fromDatabase', 'fromService', 'fromGroup']);

test('render.yaml: a node web service with health check, pre-deploy migrate and several instances', () => {
  assert.ok(Array.isArray(blueprint.services) && blueprint.services.length === 1);
  const s = blueprint.services[0];
  for (const k of Object.keys(s)) assert.ok(SERVICE_FIELDS.has(k), `unknown service field ${k}`);
  assert.equal(s.type, 'web');
  assert.equal(s.runtime, 'node');
  assert.equal(s.healthCheckPath, '/queue');
  assert.equal(s.numInstances, 2);
  assert.match(s.preDeployCommand, /neurocards migrate/);
  assert.ok(s.buildCommand && s.startCommand);
  assert.ok(Number.isInteger(s.maxShutdownDelaySeconds) && s.maxShutdownDelaySeconds >= 1 && s.maxShutdownDelaySeconds <= 300);
});

test('render.yaml: env vars are valid, secrets are never committed, grace fits in the shutdown delay', () => {
  const s = blueprint.services[0];
  const env = new Map<string, Record<string, unknown>>(s.envVars.map((e: { key: string }) => [e.key, e]));
  for (const e of env.values()) {
    for (const k of Object.keys(e)) assert.ok(ENV_FIELDS.has(k), `unknown env field ${k}`);
    const sources = ['value', 'sync', 'generateValue', 'fromDatabase', 'fromService', 'fromGroup'].filter((k) => k in e);
    assert.equal(sources.length, 1, `${e.key} has exactly one source`);
  }
  for (const secret of ['DATABASE_URL', 'SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY', 'TELEGRAM_BOT_TOKEN', 'OPENROUTER_API_KEY']) {
    assert.equal(env.get(secret)?.sync, false, `${secret} is sync: false`);
  }
  assert.equal(env.get('TELEGRAM_WEBHOOK_SECRET')?.generateValue, true);
  const graceMs = Number(env.get('SHUTDOWN_GRACE_MS')?.value);
  assert.ok(graceMs > 0 && graceMs <= s.maxShutdownDelaySeconds * 1000 - 3000,
    `SHUTDOWN_GRACE_MS ${graceMs} leaves time to hand back jobs before SIGKILL at ${s.maxShutdownDelaySeconds} s`);
  // Every plain value must be one the app accepts.
  const values = Object.fromEntries([...env.values()].filter((e) => 'value' in e).map((e) => [e.key, String(e.value)]));
  assert.doesNotThrow(() => loadConfig(values as NodeJS.ProcessEnv));
});

test('.env.example documents every variable the config reads', () => {
  const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
  const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
  const source = readFileSync(new URL('../src/config.ts', import.meta.url), 'utf8');
  const read = new Set([...source.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]));
  assert.ok(read.size > 10);
  for (const v of read) assert.ok(documented.has(v), `${v} is documented in .env.example`);
});

// --- the blueprint's commands, run as Render runs them ------------------------------------

/** A fresh clone of this repository, plus the working tree's uncommitted edits. */
function cloneWorkingTree(dest: string): void {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  execFileSync('git', ['clone', '--quiet', ROOT, dest]);
  for (const f of git('ls-files', '-z', '--modified', '--others', '--exclude-standard').split('\0').filter(Boolean)) {
    if (!existsSync(join(ROOT, f))) { rmSync(join(dest, f), { force: true }); continue; } // deleted here
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    cpSync(join(ROOT, f), join(dest, f));
  }
}

/** The service's environment as Render builds it: plain values, generated secrets, Render's own. */
function blueprintEnv(service: { envVars: Array<Record<string, unknown>> }, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir() };
  for (const e of service.envVars) {
    if ('value' in e) env[e.key as string] = String(e.value);
    // Render: "a base64-encoded 256-bit value" (blueprint spec).
    else if (e.generateValue === true) env[e.key as string] = randomBytes(32).toString('base64');
    // sync: false (secrets typed into the dashboard) stay unset unless `extra` gives them.
  }
  return { ...env, RENDER: 'true', RENDER_INSTANCE_ID: 'srv-test-1', RENDER_EXTERNAL_URL: 'https://neurocards.onrender.com', ...extra };
}

function run(command: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const tail = (out: string, n = 30) => out.trimEnd().split('\n').slice(-n).join('\n');

/**
 * Runs a start command as Render does, waits for its health check to answer 200, then stops
 * it as Render does: SIGTERM to the process running the command (a shell: the command may
 * use $VARS and &&), SIGKILL maxShutdownDelaySeconds later. The app must get that signal,
 * drain and exit 0, leaving no process behind. Resolves with ms from SIGTERM to exit.
 */
async function serveThenStop(t: TestContext, command: string, o: { cwd: string; env: Record<string, string>; healthPath: string; shutdownSeconds: number }): Promise<number> {
  // Own process group, so a failed test can still kill everything the command started.
  const app = spawn('sh', ['-c', command], { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const groupAlive = () => { try { process.kill(-app.pid!, 0); return true; } catch { return false; } };
  t.after(() => {
    if (groupAlive()) process.kill(-app.pid!, 'SIGKILL');
    app.stdout.destroy();
    app.stderr.destroy();
  });
  let out = '';
  app.stdout.on('data', (d) => { out += d; });
  app.stderr.on('data', (d) => { out += d; });
  const exited = once(app, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let gone = false;
  void exited.then(() => { gone = true; });

  // PORT=0: the app binds a port of its own and logs it.
  const deadline = Date.now() + 60_000;
  let port: string | undefined;
  while (!port) {
    assert.ok(!gone, `\`${command}\` exited before it listened:\n${tail(out)}`);
    assert.ok(Date.now() < deadline, `no "HTTP on" line within 60 s:\n${tail(out)}`);
    port = /"port":(\d+),[^\n]*"msg":"HTTP on/.exec(out)?.[1];
    if (!port) await sleep(200);
  }
  const health = `http://127.0.0.1:${port}${o.healthPath}`;
  let status = 0;
  while (status !== 200) {
    assert.ok(!gone, `\`${command}\` exited before ${o.healthPath} answered 200:\n${tail(out)}`);
    assert.ok(Date.now() < deadline, `${o.healthPath} did not answer 200 within 60 s (last ${status}):\n${tail(out)}`);
    status = await fetch(health).then((r) => r.status, () => 0);
    if (status !== 200) await sleep(200);
  }
  // /queue's figures are cached for a second, so the first 200 may predate the first heartbeat.
  let view = await (await fetch(health)).json();
  for (const until = Date.now() + 10_000; !view.instances?.length && Date.now() < until;) {
    await sleep(200);
    view = await (await fetch(health)).json();
  }
  assert.equal(view.instances?.length, 1, 'the instance heartbeats into the database');

  const stopAt = Date.now();
  app.kill('SIGTERM');
  const stopped = await Promise.race([exited, sleep(o.shutdownSeconds * 1000, null, { ref: false })]);
  assert.ok(stopped, `still running ${o.shutdownSeconds} s after SIGTERM:\n${tail(out)}`);
  assert.deepEqual(stopped, [0, null], `exit after SIGTERM:\n${tail(out)}`);
  assert.ok(!groupAlive(), `the shell exited but processes it started still run: SIGTERM never reached the app\n${tail(out)}`);
  assert.match(out, /"msg":"stopped"/, 'the app shut down gracefully');
  return Date.now() - stopAt;
}

const appliedVersions = async (db: TestDb) =>
  (await db.sql<{ version: string }[]>`select version from supabase_migrations.schema_migrations order by version`).map((r) => r.version);

test('render.yaml deploys: buildCommand, preDeployCommand and startCommand as written, in a fresh clone, with the blueprint env',
  { timeout: 300_000 }, async (t) => {
    const s = blueprint.services[0];
    try { execFileSync('git', ['rev-parse', '--git-dir'], { cwd: ROOT, stdio: 'ignore' }); } catch {
      t.skip('not a git checkout: Render builds from a clone, so this test needs one');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'nc-render-'));
    const db = await createTestDb({ migrate: false }); // the pre-deploy command must create the schema
    t.after(async () => {
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    });
    cloneWorkingTree(dir);
    const env = blueprintEnv(s, { DATABASE_URL: db.url, PORT: '0' });
    assert.equal(env.NODE_ENV, 'production', 'the blueprint runs in production mode: npm leaves out devDependencies unless told');
    if (env.NODE_VERSION && process.versions.node.split('.')[0] !== env.NODE_VERSION)
      t.diagnostic(`render.yaml asks for Node ${env.NODE_VERSION}; this run uses ${process.versions.node}`);
    const wanted = listMigrations(join(dir, 'supabase/migrations')).map((m) => m.version);

    const build = await run(s.buildCommand, dir, env);
    assert.equal(build.code, 0, `buildCommand \`${s.buildCommand}\` failed:\n${tail(build.out)}`);

    const pre = await run(s.preDeployCommand, dir, env);
    assert.equal(pre.code, 0, `preDeployCommand \`${s.preDeployCommand}\` failed:\n${tail(pre.out)}`);
    assert.deepEqual(await appliedVersions(db), wanted);

    const opts = { cwd: dir, healthPath: s.healthCheckPath, shutdownSeconds: s.maxShutdownDelaySeconds };
    const ms = await serveThenStop(t, s.startCommand, { ...opts, env });
    t.diagnostic(`startCommand: stopped ${ms} ms after SIGTERM`);

    // docs/deploy.md's free-plan start command (no pre-deploy there): it migrates an empty
    // database itself, in the same build.
    const doc = readFileSync(new URL('../docs/deploy.md', import.meta.url), 'utf8');
    const free = /On Render's free plan[\s\S]*?startCommand: (.+)/.exec(doc)?.[1].trim();
    assert.ok(free, 'docs/deploy.md gives a start command for the free plan');
    const freeDb = await createTestDb({ migrate: false, prefix: 'nc_test_free' });
    t.after(() => freeDb.drop());
    const freeMs = await serveThenStop(t, free, { ...opts, env: { ...env, DATABASE_URL: freeDb.url } });
    assert.deepEqual(await appliedVersions(freeDb), wanted);
    t.diagnostic(`free-plan startCommand: stopped ${freeMs} ms after SIGTERM`);
  });
