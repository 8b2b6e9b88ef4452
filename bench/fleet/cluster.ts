// The fleet benchmark's own Postgres and PgBouncer. A dedicated Postgres 15 cluster
// (initdb in a temporary folder, Debian's binaries) so that pg_stat_statements can be
// preloaded and its CPU and WAL are the benchmark's alone, without restarting the
// machine's shared Postgres. PgBouncer (scripts/ensure-pgbouncer.sh installs it) runs in
// the foreground with a config of its own, on a free port, in transaction or session mode.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, sleep } from '../lib.ts';

const PG_BIN = process.env.BENCH_PG_BIN ?? '/usr/lib/postgresql/15/bin';
/** The role whose statements are the workload's; the benchmark's own queries use another. */
export const MONITOR_ROLE = 'fleet_monitor';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// Postgres and PgBouncer both refuse to run as root: run them as the postgres user then.
const asRoot = process.getuid?.() === 0;
const asPg = (cmd: string, args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const : [cmd, args] as const);
function run(cmd: string, args: string[]) {
  const [c, a] = asPg(cmd, args);
  const r = spawnSync(c, a, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
}
function ownDir(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  return dir;
}

async function waitPort(port: number, ms: number, what: string, log: () => string) {
  const { connect } = await import('node:net');
  for (const end = Date.now() + ms; Date.now() < end;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${what} did not listen on ${port} within ${ms} ms\n${log()}`);
}

export interface Cluster {
  port: number;
  adminUrl: string;
  /** CPU ms used so far by this cluster's processes (exited backends included). */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startCluster(o: { maxConnections?: number; settings?: Record<string, string> } = {}): Promise<Cluster> {
  if (!existsSync(`${PG_BIN}/initdb`)) throw new Error(`no Postgres binaries in ${PG_BIN} (set BENCH_PG_BIN)`);
  const dir = ownDir('neurocards-fleet-pg-');
  const data = join(dir, 'data');
  run(`${PG_BIN}/initdb`, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
  const port = await freePort();
  // Same settings as the machine's Postgres (fsync and synchronous_commit on, 128MB of
  // shared buffers), plus pg_stat_statements.
  const opts = [
    `-p ${port}`, `-c listen_addresses=127.0.0.1`, `-c unix_socket_directories=${dir}`,
    `-c shared_preload_libraries=pg_stat_statements`, `-c pg_stat_statements.track=top`,
    `-c max_connections=${o.maxConnections ?? 200}`, `-c shared_buffers=128MB`,
    ...Object.entries(o.settings ?? {}).map(([k, v]) => `-c ${k}=${v}`),
  ].join(' ');
  run(`${PG_BIN}/pg_ctl`, ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start']);
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const postmasterPid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    port, adminUrl,
    cpuMs: () => clusterCpuMs(postmasterPid),
    async stop() {
      try { run(`${PG_BIN}/pg_ctl`, ['-D', data, '-m', 'fast', '-w', 'stop']); } finally { rmSync(dir, { recursive: true, force: true }); }
    },
  };
}

/** utime+stime of the postmaster's children, plus the postmaster's own and its reaped children's. */
function clusterCpuMs(pm: number): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pid) === pm) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (Number(f[1]) === pm) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * 10; // USER_HZ 100
}

/** utime+stime (ms) of these processes and all their live descendants (exited ones not counted). */
export function treeCpuMs(roots: number[]): number {
  const procs = new Map<number, { ppid: number; ticks: number }>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    procs.set(Number(pid), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
  }
  const tree = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of procs) if (!tree.has(pid) && tree.has(p.ppid)) { tree.add(pid); grew = true; }
  }
  let ticks = 0;
  for (const pid of tree) ticks += procs.get(pid)?.ticks ?? 0;
  return ticks * 10; // USER_HZ 100
}

/** Busy CPU ms of the whole machine, all cores (everything but idle and iowait in /proc/stat). */
export function machineBusyMs(): number {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  return (user + nice + system + irq + softirq + steal) * 10;
}

export interface Pooler { port: number; mode: 'transaction' | 'session'; poolSize: number; pid: number; stop(): Promise<void> }

/** PgBouncer in front of the cluster: `poolSize` server connections per user+database. */
export async function startPgbouncer(o: { upstreamPort: number; mode: 'transaction' | 'session'; poolSize: number }): Promise<Pooler> {
  const r = spawnSync('bash', [`${ROOT}scripts/ensure-pgbouncer.sh`], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error('scripts/ensure-pgbouncer.sh failed');
  const bin = existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : 'pgbouncer';
  const dir = ownDir('neurocards-fleet-pgb-');
  const port = await freePort();
  writeFileSync(join(dir, 'userlist.txt'), `"postgres" ""\n"${MONITOR_ROLE}" ""\n`);
  writeFileSync(join(dir, 'pgbouncer.ini'), [
    '[databases]',
    `* = host=127.0.0.1 port=${o.upstreamPort}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${join(dir, 'userlist.txt')}`,
    `pool_mode = ${o.mode}`,
    `default_pool_size = ${o.poolSize}`,
    `max_db_connections = ${o.poolSize}`,
    'max_client_conn = 5000',
    'reserve_pool_size = 0',
    // postgres.js sends these in its startup packet; PgBouncer refuses unknown ones.
    'ignore_startup_parameters = extra_float_digits,options',
    `logfile = ${join(dir, 'pgbouncer.log')}`,
    'log_connections = 0',
    'log_disconnections = 0',
    '',
  ].join('\n'));
  if (asRoot) spawnSync('chown', ['-R', 'postgres:postgres', dir]);
  const [c, a] = asPg(bin, [join(dir, 'pgbouncer.ini')]);
  const proc: ChildProcess = spawn(c, a, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const log = () => err + (existsSync(join(dir, 'pgbouncer.log')) ? readFileSync(join(dir, 'pgbouncer.log'), 'utf8').slice(-2000) : '');
  await waitPort(port, 10_000, 'pgbouncer', log);
  return {
    port, mode: o.mode, poolSize: o.poolSize, pid: proc.pid!,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((res) => { if (proc.exitCode !== null) res(null); else proc.on('exit', res); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
