// Shared helpers for the benchmark: clocks, fresh databases, percentiles, child processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const BENCH = fileURLToPath(new URL('./', import.meta.url));
export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Where fresh databases are made: the machine's Postgres, or a scenario's own cluster (useCluster). */
let adminUrl = ADMIN_URL;
/** Point createDb()/withAdmin() at another cluster (the throughput scenario's dedicated one); null = back to ADMIN_URL. */
export function useAdminUrl(url: string | null) { adminUrl = url ?? ADMIN_URL; }
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

for (const u of [ADMIN_URL, REDIS_URL]) {
  const host = new URL(u).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`benchmarks only talk to 127.0.0.1, not ${host}`);
}

/** Milliseconds on CLOCK_MONOTONIC: comparable across processes on one machine. */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function dbUrl(name: string) {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function withAdmin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try { return await fn(sql); } finally { await sql.end({ timeout: 2 }); }
}

export async function withDb<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try { return await fn(sql); } finally { await sql.end({ timeout: 2 }); }
}

export async function createDb(prefix: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `bench_${prefix.replace(/[^a-z0-9]/g, '_')}_${randomBytes(3).toString('hex')}`;
  await withAdmin((sql) => sql.unsafe(`create database ${name}`));
  return {
    name, url: dbUrl(name),
    drop: () => withAdmin((sql) => sql.unsafe(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}

export function pct(sorted: number[], p: number) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
export const median = (xs: number[]) => pct([...xs].sort((a, b) => a - b), 50);
export const round = (x: number, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

export interface Child {
  proc: ChildProcess;
  send(msg: unknown): void;
  next<T = any>(pred: (m: any) => boolean, ms?: number): Promise<T>;
  onMessage(fn: (m: any) => void): void;
  exited: Promise<number | null>;
  stderr: string[];
}

/** A child running bench/<script> with tsx; JSON lines both ways (stdin/stdout). */
export function spawnChild(script: string, args: unknown, extraNodeArgs: string[] = [], o: { cpu?: number } = {}): Child {
  // o.cpu: pin the child (every thread of it) to that one core with taskset(1).
  const argv = [...extraNodeArgs, '--import', 'tsx', BENCH + script];
  const [cmd, cmdArgs] = o.cpu === undefined ? [process.execPath, argv] : ['taskset', ['-c', String(o.cpu), process.execPath, ...argv]];
  const proc = spawn(cmd, cmdArgs, {
    cwd: ROOT, env: { ...process.env, BENCH_ARGS: JSON.stringify(args) }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  const listeners: ((m: any) => void)[] = [];
  const waiters: { pred: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  const stderr: string[] = [];
  let buf = '';
  proc.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      let m: any; try { m = JSON.parse(line); } catch { stderr.push(line); continue; }
      for (const l of listeners) l(m);
      for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
    }
  });
  proc.stderr!.on('data', (c: Buffer) => {
    stderr.push(c.toString());
    if (process.env.BENCH_DEBUG) process.stderr.write(c);
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return {
    proc, stderr, exited,
    send: (msg) => proc.stdin!.write(JSON.stringify(msg) + '\n'),
    onMessage: (fn) => listeners.push(fn),
    next: (pred, ms = 60_000) => new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${script}: no answer within ${ms} ms\n${stderr.slice(-20).join('')}`)), ms);
      exited.then((code) => { clearTimeout(t); reject(new Error(`${script} exited (${code}) before answering\n${stderr.slice(-20).join('')}`)); });
      waiters.push({ pred, resolve: (m) => { clearTimeout(t); resolve(m); } });
    }),
  };
}

/** Reads JSON lines from stdin (the child side of spawnChild). */
export function onParentMessage(fn: (m: any) => void) {
  let buf = '';
  process.stdin.on('data', (c: Buffer) => {
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      if (line.trim()) fn(JSON.parse(line));
    }
  });
}
export const toParent = (m: unknown) => process.stdout.write(JSON.stringify(m) + '\n');

/**
 * CPU time (ms) used so far by the database servers on this machine: every live
 * `postgres` / `redis-server` process, plus what exited backends left in their parent's
 * cutime/cstime (the postmaster reaps them). Differences of two readings give the server
 * side's cost of a run, which the worker's own CPU figure does not show.
 */
export function serverCpuMs(only?: 'postgres' | 'redis-server'): number {
  const tick = 100; // USER_HZ on Linux
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (comm !== 'postgres' && comm !== 'redis-server') continue;
    if (only && comm !== only) continue;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return (ticks * 1000) / tick;
}
