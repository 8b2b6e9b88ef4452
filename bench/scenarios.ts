// The scenarios. Every system gets a fresh database per measurement; workers run in
// child processes (child.ts) while this process seeds, produces and watches.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { ROOT, createDb, useAdminUrl, withAdmin, withDb, median, nowMs, pct, round, serverCpuMs, sleep, spawnChild, type Child } from './lib.ts';
import { startCluster, type Cluster } from './fleet/cluster.ts';
import { loadSystem } from './systems/index.ts';
import type { Ctx } from './systems/types.ts';

export interface Options { json: boolean; quick: boolean; runs: number; only?: string[]; systems?: string[]; prof?: boolean }
type Row = { system: string } & Record<string, unknown>;

interface Entry { label: string; system: string; variant: string }
const ENTRIES: Entry[] = [
  { label: 'neurocards', system: 'neurocards', variant: 'direct' },
  { label: 'neurocards-rpc', system: 'neurocards', variant: 'rpc' },
  { label: 'raw', system: 'raw', variant: 'tuned' },
  { label: 'raw (claim-ahead)', system: 'raw', variant: 'ahead' },
  { label: 'graphile-worker', system: 'graphile-worker', variant: 'tuned' },
  { label: 'graphile-worker (preset)', system: 'graphile-worker', variant: 'preset' },
  { label: 'graphile-worker (defaults)', system: 'graphile-worker', variant: 'defaults' },
  { label: 'pg-boss', system: 'pg-boss', variant: 'tuned' },
  { label: 'bullmq', system: 'bullmq', variant: 'tuned' },
  { label: 'bullmq (defaults)', system: 'bullmq', variant: 'defaults' },
];
const CONCURRENCY = 25;
const profArgs = (o: Options, name: string) =>
  o.prof ? ['--cpu-prof', `--cpu-prof-dir=${ROOT}bench/results/prof/${name.replace(/[^\w-]/g, '_')}`] : [];
export const rpcAvailable = () => existsSync(`${ROOT}test/support/postgrest.ts`);
const RPC_PENDING = 'pending: test/support/postgrest.ts (the PostgREST-compatible server) does not exist yet';

async function withCtx<T>(e: Entry, fn: (ctx: Ctx) => Promise<T>): Promise<T> {
  const db = await createDb(e.label);
  const ctx: Ctx = { dbUrl: db.url, tag: `bench-${randomBytes(4).toString('hex')}`, variant: e.variant };
  const sys = await loadSystem(e.system);
  try {
    await sys.prepare(ctx);
    return await fn(ctx);
  } finally {
    await sys.cleanup?.(ctx).catch(() => {});
    await db.drop().catch(() => {});
  }
}

async function startWorkers(e: Entry, ctx: Ctx, procs: number, extraNodeArgs: string[] = []) {
  const children: Child[] = Array.from({ length: procs }, () =>
    spawnChild('child.ts', { system: e.system, ctx, concurrency: CONCURRENCY }, extraNodeArgs));
  await Promise.all(children.map((c) => c.next((m) => m.ready, 120_000)));
  const counts = new Array(procs).fill(0);
  let target = Infinity;
  let reached: () => void = () => {};
  const reachedP = new Promise<void>((r) => { reached = r; });
  children.forEach((c, i) => c.onMessage((m) => {
    if (typeof m.p === 'number') { counts[i] = m.p; if (counts.reduce((a, b) => a + b, 0) >= target) reached(); }
  }));
  for (const c of children) c.send({ go: true });
  await Promise.all(children.map((c) => c.next((m) => m.started, 60_000)));
  return {
    children,
    handled: (n: number, ms: number) => {
      target = n;
      if (counts.reduce((a, b) => a + b, 0) >= n) reached();
      return Promise.race([reachedP, sleep(ms).then(() => { throw new Error(`${e.label}: only ${counts.reduce((a, b) => a + b, 0)} of ${n} jobs ran within ${ms} ms`); })]);
    },
    async stop() {
      for (const c of children) c.send({ stop: true });
      return Promise.all(children.map((c) => c.next((m) => m.stopped, 60_000)));
    },
    kill() { for (const c of children) c.proc.kill('SIGKILL'); },
  };
}

/** The cluster's current WAL position, in bytes, and its WAL counters (pg_stat_wal). */
const walNow = () => withAdmin(async (sql) => {
  const [r] = await sql`select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text as b, w.wal_sync::float8 as syncs,
    w.wal_records::float8 as records, w.wal_fpi::float8 as fpi from pg_stat_wal w`;
  return { bytes: BigInt(r.b), syncs: r.syncs as number, records: r.records as number, fpi: r.fpi as number };
});

/**
 * The throughput scenario's own Postgres cluster (bench/fleet/cluster.ts: initdb, the
 * machine's settings, pg_stat_statements), so that dbCpuMs and WAL are the system under
 * test's alone and not whatever else runs on the machine's shared Postgres. Every
 * Postgres system runs on it with the same settings. BENCH_SHARED_PG=1 keeps the old
 * behaviour (BENCH_DATABASE_URL, machine-wide CPU). BENCH_PGSS=top|all writes a
 * pg_stat_statements profile of every drain to bench/results/pgss/ (all: statements
 * inside functions too, which costs some CPU itself).
 */
let cluster: Cluster | null = null;
const PGSS = process.env.BENCH_PGSS;

/** Per-statement cost of one drain, from pg_stat_statements (reset before the drain). */
async function pgssProfile(label: string, dbUrl: string, n: number) {
  const db = new URL(dbUrl).pathname.slice(1);
  const rows = await withAdmin((sql) => sql`
    select calls::float8, total_exec_time::float8 as ms, rows::float8, shared_blks_hit::float8 as hit,
           shared_blks_dirtied::float8 as dirtied, wal_records::float8 as walrec, wal_fpi::float8 as fpi,
           wal_bytes::float8 as walb, toplevel, regexp_replace(query, '\\s+', ' ', 'g') as query
      from pg_stat_statements s join pg_database d on d.oid = s.dbid
     where d.datname = ${db} order by total_exec_time desc limit 25`);
  const tables = await withDb(dbUrl, (sql) => sql`
    select relname, n_tup_ins::float8 as ins, n_tup_upd::float8 as upd, n_tup_hot_upd::float8 as hot, n_tup_del::float8 as del
      from pg_stat_user_tables where n_tup_ins + n_tup_upd + n_tup_del > 0 order by relname`);
  const f = (x: number) => (x / n).toFixed(3);
  const lines = [`# ${label}: ${n} jobs; calls in all, then per job: calls, exec ms, rows, shared blks hit, dirtied, WAL records, FPI, WAL bytes`,
    ...rows.map((r) => [String(r.calls), f(r.calls), f(r.ms), f(r.rows), f(r.hit), f(r.dirtied), f(r.walrec), f(r.fpi), f(r.walb),
      r.toplevel ? 'top' : 'nested', String(r.query).slice(0, 220)].join('\t')),
    '# tables: inserts, updates, HOT updates, deletes (whole drain incl. seeding)',
    ...tables.map((t) => `${t.relname}\t${t.ins}\t${t.upd}\t${t.hot}\t${t.del}`)];
  mkdirSync(`${ROOT}bench/results/pgss`, { recursive: true });
  writeFileSync(`${ROOT}bench/results/pgss/${label.replace(/[^\w-]/g, '_')}.txt`, lines.join('\n') + '\n');
}

/** Pre-enqueue n jobs, start procs workers, time until every job is recorded finished. */
async function drain(e: Entry, n: number, jobMs: number, procs: number, extraNodeArgs: string[] = []) {
  return withCtx(e, async (ctx) => {
    const sys = await loadSystem(e.system);
    await sys.seed(ctx, n, { ms: jobMs });
    // Same start for every Postgres queue: planner statistics and a vacuumed table, as a
    // queue that has been running for a while has (autovacuum would do it mid-run otherwise).
    if (e.system !== 'bullmq') await withDb(ctx.dbUrl, (sql) => sql.unsafe('vacuum analyze'));
    const mon = await sys.monitor(ctx);
    const pgQueue = e.system !== 'bullmq';
    // On the dedicated cluster: its processes only; BullMQ: the Redis server only.
    const cpuNow = () => (cluster && pgQueue ? cluster.cpuMs() : serverCpuMs(cluster ? 'redis-server' : undefined));
    const wal = pgQueue ? walNow : null;
    if (PGSS && cluster && pgQueue) await withAdmin((sql) => sql`select pg_stat_statements_reset()`);
    const wal0 = await wal?.();
    const cpu0 = cpuNow();
    const w = await startWorkers(e, ctx, procs, extraNodeArgs);
    try {
      await w.handled(n, 600_000);
      const ranAt = nowMs();
      const deadline = nowMs() + 30_000;
      while ((await mon.remaining()) > 0) {
        if (nowMs() > deadline) throw new Error(`${e.label}: jobs ran but were not recorded finished within 30 s`);
        // 5 ms, not 1: a count(*) per millisecond is itself a core's worth of load on the
        // database that is still writing the last completions (at most 5 ms of error).
        await sleep(5);
      }
      const t1 = nowMs();
      const dbCpuMs = cpuNow() - cpu0;
      const wal1 = await wal?.();
      const res = await w.stop();
      if (PGSS && cluster && pgQueue) await pgssProfile(e.label, ctx.dbUrl, n);
      const t0 = Math.min(...res.filter((r) => r.count > 0).map((r) => r.firstAt));
      const seconds = (t1 - t0) / 1000;
      return {
        jobsPerSec: n / seconds, seconds,
        workerCpuMs: res.reduce((a, r) => a + r.cpuMs, 0),
        // Postgres (or Redis) CPU over the same span: the other half of a job's cost.
        dbCpuMs,
        // WAL the cluster wrote over the drain, per job, and its WAL flushes (fsyncs: one per
        // synchronous commit that had to wait) per 1,000 jobs. Not for BullMQ (Redis).
        ...(wal0 && wal1 ? {
          walBytesPerJob: Number(wal1.bytes - wal0.bytes) / n,
          walSyncsPerKJob: ((wal1.syncs - wal0.syncs) * 1000) / n,
        } : {}),
        // from the last job's run to the database showing every job finished
        recordLagMs: t1 - ranAt,
        writeCalls: res.reduce((a, r) => a + (r.syscalls?.writes ?? 0), 0),
        readCalls: res.reduce((a, r) => a + (r.syscalls?.reads ?? 0), 0),
        maxRssMb: Math.max(...res.map((r) => r.maxRssMb)),
        perProcess: res.map((r) => r.count),
      };
    } catch (err) {
      w.kill();
      throw err;
    } finally {
      await mon.close();
    }
  });
}

async function latency(e: Entry, count: number, rateHz: number) {
  return withCtx(e, async (ctx) => {
    const sys = await loadSystem(e.system);
    const w = await startWorkers(e, ctx, 1);
    const producer = await sys.producer(ctx);
    try {
      await sleep(1000); // idle: the pool is waiting for work
      const interval = 1000 / rateHz;
      const start = nowMs();
      for (let i = 0; i < count; i++) {
        await producer.enqueue({ ms: 0, t: nowMs() });
        const wait = start + (i + 1) * interval - nowMs();
        if (wait > 0) await sleep(wait);
      }
      await w.handled(count, 60_000);
      const [res] = await w.stop();
      const l = [...res.latencies].sort((a: number, b: number) => a - b);
      return { p50Ms: pct(l, 50), p95Ms: pct(l, 95), p99Ms: pct(l, 99), maxMs: l[l.length - 1], samples: l.length };
    } catch (err) {
      w.kill();
      throw err;
    } finally {
      await producer.close();
    }
  });
}

function medianRow(system: string, runs: Record<string, unknown>[], main: string): Row {
  const row: Row = { system };
  for (const k of Object.keys(runs[0])) {
    const vs = runs.map((r) => r[k]);
    if (vs.every((v) => typeof v === 'number')) row[k] = round(median(vs as number[]), 2);
    else row[k] = vs[vs.length - 1];
  }
  if (runs.length > 1) row.runs = runs.map((r) => round(r[main] as number, 2));
  return row;
}

async function repeat(entries: Entry[], o: Options, main: string, fn: (e: Entry) => Promise<Record<string, unknown>>): Promise<Row[]> {
  const per = new Map<string, Record<string, unknown>[]>();
  const errors = new Map<string, string>();
  for (let r = 0; r < o.runs; r++) {
    // Each run starts with a different system: whoever runs first on a cold box (page
    // cache, CPU state, the first database created) would otherwise always be neurocards.
    const order = entries.map((_, i) => entries[(i + r) % entries.length]);
    for (const e of order) {
      if (errors.has(e.label)) continue;
      if (e.variant === 'rpc' && !rpcAvailable()) { errors.set(e.label, RPC_PENDING); continue; }
      try {
        const res = await fn(e);
        per.set(e.label, [...(per.get(e.label) ?? []), res]);
        if (!o.json) process.stderr.write(`  ${e.label} run ${r + 1}: ${main} ${round(res[main] as number, 2)}\n`);
      } catch (err) {
        errors.set(e.label, `failed: ${(err as Error).message.split('\n')[0]}`);
        if (!o.json) process.stderr.write(`  ${e.label}: ${(err as Error).message}\n`);
      }
    }
  }
  return entries.map((e) => (per.has(e.label) ? medianRow(e.label, per.get(e.label)!, main) : { system: e.label, note: errors.get(e.label) }));
}

function addRatios(rows: Row[], key: string, higherIsBetter = true) {
  const me = rows.find((r) => r.system === 'neurocards')?.[key] as number | undefined;
  for (const r of rows) {
    const v = r[key] as number | undefined;
    if (me && v && r.system !== 'neurocards') r.neurocardsRatio = round(higherIsBetter ? me / v : v / me, 2);
  }
}

export async function runScenarios(o: Options) {
  const pick = (names: string[]) => ENTRIES.filter((e) => names.includes(e.label) && (!o.systems || o.systems.includes(e.label) || o.systems.includes(e.system)));
  const want = (s: string) => !o.only || o.only.includes(s);
  const emit = (scenario: string, results: Row[], extra: Record<string, unknown> = {}) => {
    if (o.json) process.stdout.write(JSON.stringify({ scenario, ...extra, results }) + '\n');
    else printTable(scenario, results, extra);
  };
  const log = (s: string) => { if (!o.json) process.stderr.write(s + '\n'); };

  if (want('throughput')) {
    const n = o.quick ? 4_000 : 20_000;
    log(`throughput: ${n} no-op jobs, one process at concurrency ${CONCURRENCY}`);
    if (!process.env.BENCH_SHARED_PG) {
      cluster = await startCluster({ settings: PGSS ? { 'pg_stat_statements.track': PGSS } : {} });
      useAdminUrl(cluster.adminUrl);
      if (PGSS) await withAdmin((sql) => sql`create extension if not exists pg_stat_statements`);
      log(`throughput: a dedicated Postgres cluster on port ${cluster.port} (DB CPU and WAL are the system under test's alone)`);
    }
    try {
      const rows = await repeat(pick(ENTRIES.map((e) => e.label)), o, 'jobsPerSec', (e) => drain(e, n, 0, 1, profArgs(o, `throughput-${e.label}`)));
      addRatios(rows, 'jobsPerSec');
      emit('throughput', rows, { jobs: n, concurrency: CONCURRENCY, runs: o.runs, postgres: cluster ? 'dedicated cluster' : 'shared' });
    } finally {
      useAdminUrl(null);
      await cluster?.stop();
      cluster = null;
    }
  }
  if (want('latency')) {
    const count = o.quick ? 100 : 500, rate = 50;
    log(`latency: ${count} jobs enqueued one at a time at ${rate}/s into an idle pool`);
    const rows = await repeat(pick(['neurocards', 'neurocards-rpc', 'raw', 'graphile-worker', 'graphile-worker (defaults)', 'pg-boss', 'bullmq']),
      o, 'p50Ms', (e) => latency(e, count, rate));
    emit('latency', rows, { jobs: count, ratePerSec: rate, runs: o.runs });
  }
  if (want('scaling')) {
    const n = o.quick ? 2_000 : 4_000;
    log(`scaling: ${n} jobs of 50 ms, 1/2/4 processes at concurrency ${CONCURRENCY} each`);
    const rows = await repeat(pick(['neurocards', 'raw', 'graphile-worker', 'pg-boss', 'bullmq']), o, 'x4', async (e) => {
      const r: Record<string, number> = {};
      for (const p of [1, 2, 4]) r[`p${p}JobsPerSec`] = (await drain(e, n, 50, p)).jobsPerSec;
      r.x2 = r.p2JobsPerSec / r.p1JobsPerSec;
      r.x4 = r.p4JobsPerSec / r.p1JobsPerSec;
      return r;
    });
    emit('scaling', rows, { jobs: n, jobMs: 50, concurrencyPerProcess: CONCURRENCY, runs: o.runs });
  }
  if (want('render')) {
    log('render: cards from the local renderer');
    const { renderScenario } = await import('./render.ts');
    emit('render', [await renderScenario(o)], { cores: cpus().length });
  }
  if (want('cutout')) {
    log('cutout: the local cut-out on the synthetic set (IoU per background class, gate rejections, CPU per picture)');
    const { cutoutScenario } = await import('./cutout.ts');
    const { rows, extra } = await cutoutScenario(o);
    emit('cutout', rows, extra);
  }
  // Opt-in (minutes per run: 200 cards against a provider that answers in 20 s).
  if (o.only?.includes('inflight')) {
    const { inflightScenario } = await import('./inflight.ts');
    const { rows, extra } = await inflightScenario(o, log);
    emit('inflight', rows as Row[], extra);
  }
  if (want('stats')) {
    const { statsScenario } = await import('./stats.ts');
    const rows = o.systems && !o.systems.some((s) => s.startsWith('neurocards')) ? [] : await statsScenario(o, log);
    emit('stats', rows);
  }
  // Opt-in (minutes per instance count, a Postgres cluster and PgBouncer of its own).
  if (o.only?.includes('fleet')) {
    const { fleetScenario } = await import('./fleet.ts');
    emit('fleet', await fleetScenario({ quick: o.quick, log }) as Row[]);
  }
  if (o.only?.includes('fleet-kill')) {
    // Issue 16 item 5: 50 instances, 5 to a process; SIGKILL 5 processes (25 instances) at once.
    const { fleetScenario } = await import('./fleet.ts');
    const instances = Number(process.env.FLEET_KILL_N ?? 50);
    emit('fleet-kill', await fleetScenario({ quick: o.quick, log, kill: { instances, procs: 5, perProcess: Math.max(1, Math.floor(instances / 10)) } }) as Row[]);
  }
  if (want('e2e')) {
    const { e2eScenario } = await import('./e2e.ts');
    emit('e2e', await e2eScenario(o, log));
  }
}

function printTable(scenario: string, rows: Row[], extra: Record<string, unknown>) {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) => c !== 'runs' && c !== 'perProcess');
  const cell = (v: unknown) => (v === undefined ? '' : typeof v === 'number' ? String(round(v, 2)) : String(v));
  const table = [cols, ...rows.map((r) => cols.map((c) => cell(r[c])))];
  const w = cols.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(w[i]) : v.padStart(w[i]))).join('  ');
  console.log(`\n== ${scenario} ${Object.entries(extra).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  console.log(line(table[0]));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of table.slice(1)) console.log(line(r));
}
