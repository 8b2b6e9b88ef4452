// Runs the embedded Postgres binaries (initdb, postgres) as child processes. Every way a
// child can fail (cannot be spawned, exits early, prints a FATAL) ends in one rejected
// promise carrying Postgres' own words, never in an unhandled 'error' event.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import type { Logger } from '../log.ts';

export interface RunAs { uid: number; gid: number }

/** Why a child failed: what Postgres said (or the spawn error), for the caller to explain. */
export class PgProcessError extends Error {
  constructor(message: string, readonly spawnCode?: string, readonly output = '') { super(message); }
}

// initdb and postgres get LC_MESSAGES so that the readiness line below is in English.
let localeCache: string | undefined;
function bestLocale(): string {
  if (localeCache) return localeCache;
  let have = new Set<string>();
  try { have = new Set(execFileSync('locale', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(/\r?\n/).map((l) => l.trim())); } catch { /* no locale(1) */ }
  localeCache = ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8'].find((l) => have.has(l)) ?? 'C';
  return localeCache;
}

function spawnPg(file: string, args: string[], runAs: RunAs | null, ownGroup = false): ChildProcess {
  const locale = bestLocale();
  return spawn(file, args, {
    // cwd '/': the caller's folder may be one user "postgres" cannot enter.
    cwd: '/',
    detached: ownGroup,
    env: { ...process.env, LC_MESSAGES: locale },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(runAs ?? {}),
  });
}

/** The lines worth quoting from Postgres' output: its errors, else its last line. */
export function pgComplaint(output: string): string {
  const lines = output.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const bad = lines.filter((l) => /\b(FATAL|PANIC|ERROR):|error:/.test(l))
    .map((l) => l.replace(/^.*?\b(FATAL|PANIC|ERROR):\s*/, '').replace(/^\S*initdb: error:\s*/, ''));
  return (bad.length ? bad.slice(0, 2).join('; ') : lines.at(-1) ?? '').slice(0, 300);
}

export function runInitdb(o: {
  initdb: string; dataDir: string; user: string; pwfile: string; authMethod: string; runAs: RunAs | null; log: Logger;
}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawnPg(o.initdb, [
      `--pgdata=${o.dataDir}`, `--auth=${o.authMethod}`, `--username=${o.user}`, `--pwfile=${o.pwfile}`, `--lc-messages=${bestLocale()}`,
    ], o.runAs);
    let output = '';
    const take = (c: Buffer) => { const s = c.toString('utf8'); output += s; o.log.debug({ pg: s.trim() }, 'initdb'); };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    child.once('error', (err: NodeJS.ErrnoException) => reject(new PgProcessError(`cannot run ${o.initdb}: ${err.code ?? err.message}`, err.code)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new PgProcessError(pgComplaint(output) || `initdb exited with ${code ?? signal}`, undefined, output));
    });
  });
}

export interface RunningPg {
  /** Fast shutdown (SIGINT); immediate (SIGQUIT) if that takes more than stopTimeoutMs. */
  stop(): Promise<void>;
}

export function startPostgres(o: {
  postgres: string; dataDir: string; port: number; flags: string[]; runAs: RunAs | null; log: Logger; stopTimeoutMs?: number;
}): Promise<RunningPg> {
  return new Promise((resolve, reject) => {
    // Its own process group: a terminal's Ctrl-C (SIGINT to the whole foreground group) reaches
    // only the app, which stops in order — jobs handed back while the database still answers —
    // and stops Postgres last. Should the app exit without that (a crash), Postgres is told on exit.
    const child = spawnPg(o.postgres, ['-D', o.dataDir, '-p', String(o.port), ...o.flags], o.runAs, true);
    const onAppExit = () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT'); };
    process.once('exit', onAppExit);
    child.once('close', () => process.off('exit', onAppExit));
    let output = '';
    let ready = false;
    let stopping = false;
    const exited = new Promise<void>((res) => child.once('close', () => res()));
    const onData = (c: Buffer) => {
      const s = c.toString('utf8');
      if (!ready) output += s;
      o.log.debug({ pg: s.trim() }, 'embedded postgres');
      if (!ready && output.includes('database system is ready to accept connections')) {
        ready = true;
        output = '';
        resolve({
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            stopping = true;
            child.kill('SIGINT');
            const t = setTimeout(() => child.kill('SIGQUIT'), o.stopTimeoutMs ?? 10_000);
            await exited;
            clearTimeout(t);
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (!ready) reject(new PgProcessError(`cannot run ${o.postgres}: ${err.code ?? err.message}`, err.code));
      else o.log.warn({ err: err.message }, 'embedded postgres process error');
    });
    child.once('close', (code, signal) => {
      if (!ready) reject(new PgProcessError(pgComplaint(output) || `postgres exited with ${code ?? signal}`, undefined, output));
      else if (!stopping) o.log.error({ code, signal }, 'embedded Postgres exited unexpectedly');
    });
  });
}
