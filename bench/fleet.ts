// The fleet scenario (issue 16): N logical instances at concurrency 200 on one Postgres,
// through PgBouncer, with I/O-bound jobs of 5-15 s (and a share of short ones).
// Per N: a fresh database on the benchmark's own cluster, instances packed several to a
// child process (bench/fleet/child.ts), a producer keeping a small backlog queued, a
// ramp-up of one longest job, a measured window of >= 3 mean job lifetimes, then the
// queue drains and every job is checked: ran once, recorded succeeded.
import { loadavg } from 'node:os';
import postgres from 'postgres';
import { migrate } from '../src/db/migrate.ts';
import { PostgresStore } from '../src/db/postgres.ts';
import { MONITOR_ROLE, machineBusyMs, startCluster, startPgbouncer, treeCpuMs, type Cluster, type Pooler } from './fleet/cluster.ts';
import { nowMs, pct, round, sleep, spawnChild, type Child } from './lib.ts';

export interface FleetOptions {
  quick: boolean;
  /** Instance counts to run (default 1,10,25,50,100; --quick: 1,10). */
  ladder?: number[];
  /** Kill test (issue 16, item 5): SIGKILL this many OS processes after the ramp. */
  kill?: { instances: number; procs: number; perProcess: number };
  log(s: string): void;
}

const CONCURRENCY = Number(process.env.FLEET_CONCURRENCY ?? 200);
/** Query connections per instance (DB_POOL_SIZE). 2: a claim and a completion in flight at once. */
const POOL_SIZE = Number(process.env.FLEET_DB_POOL_SIZE ?? 2);
/** Server connections PgBouncer may open in transaction mode (the budget; see docs/deploy.md). */
const SERVER_POOL = Number(process.env.FLEET_SERVER_POOL ?? 20);
const PER_PROCESS = Number(process.env.FLEET_INSTANCES_PER_PROCESS ?? 10);
const LEASE_SECONDS = 30;
/** The pool's claim-ahead cap; unset = the app's default (8 × concurrency). See BENCHMARKS.md, fleet. */
const MAX_AHEAD = process.env.FLEET_MAX_AHEAD === undefined ? undefined : Number(process.env.FLEET_MAX_AHEAD);
const POLL_INTERVAL_MS = 1000; // the app's POLL_INTERVAL_MS default
/**
 * RPC mode's server: RPC_SERVERS PostgREST-compatible processes behind one port
 * (node:cluster), each with RPC_POOL connections through the transaction pooler, so the
 * database sees the same budget as direct mode (FLEET_RPC_VIA=direct: straight to Postgres,
 * as the single-server run before did; FLEET_RPC_SERVERS=1 FLEET_RPC_POOL=10 repeats it).
 */
const RPC_SERVERS = Number(process.env.FLEET_RPC_SERVERS ?? 4);
const RPC_POOL = Number(process.env.FLEET_RPC_POOL ?? Math.max(2, Math.ceil(SERVER_POOL / RPC_SERVERS)));
const RPC_VIA_POOLER = (process.env.FLEET_RPC_VIA ?? 'pooler') !== 'direct';
// Job mix: 90% wait 5-15 s (uniform), 10% are short (0-100 ms).
const SHORT_SHARE = 0.1;
const MEAN_JOB_MS = (1 - SHORT_SHARE) * 10_000 + SHORT_SHARE * 50;
const jobMs = () => (Math.random() < SHORT_SHARE ? Math.floor(Math.random() * 100) : 5_000 + Math.floor(Math.random() * 10_000));

type Mode = 'transaction' | 'session' | 'rpc';

export async function fleetScenario(o: FleetOptions) {
  const ladder = o.ladder ?? (process.env.FLEET_N ? process.env.FLEET_N.split(',').map(Number).filter((x) => x > 0)
    : o.quick ? [1, 10] : [1, 10, 25, 50, 100]);
  const windowMs = Number(process.env.FLEET_WINDOW_MS ?? (o.quick ? 10_000 : Math.max(30_000, 3 * MEAN_JOB_MS)));
  const rampMs = Number(process.env.FLEET_RAMP_MS ?? (o.quick ? 8_000 : 15_000));
  const sessionN = Number(process.env.FLEET_SESSION_N ?? 10);
  const cluster = await startCluster();
  const results: Record<string, unknown>[] = [];
  if (o.kill) {
    try {
      await admin(cluster.adminUrl, (sql) => sql.unsafe(`create role ${MONITOR_ROLE} superuser login`));
      const tx = await startPgbouncer({ upstreamPort: cluster.port, mode: 'transaction', poolSize: SERVER_POOL });
      try {
        o.log(`fleet-kill: ${o.kill.instances} instances (${o.kill.perProcess} per process), SIGKILL ${o.kill.procs} processes after the ramp`);
        const r = await runFleet(cluster, tx, o.kill.instances, 'transaction', windowMs, rampMs, o.log, o.kill);
        o.log(`  ${JSON.stringify(r)}`);
        results.push(r);
      } finally { await tx.stop(); }
    } finally { await cluster.stop(); }
    return results;
  }
  try {
    await admin(cluster.adminUrl, async (sql) => {
      await sql.unsafe(`create role ${MONITOR_ROLE} superuser login`);
    });
    const tx = await startPgbouncer({ upstreamPort: cluster.port, mode: 'transaction', poolSize: SERVER_POOL });
    try {
      for (const n of ladder) {
        o.log(`fleet: ${n} instances x concurrency ${CONCURRENCY}, PgBouncer transaction mode (${SERVER_POOL} server connections), window ${windowMs / 1000} s`);
        const r = await runFleet(cluster, tx, n, 'transaction', windowMs, rampMs, o.log);
        o.log(`  ${JSON.stringify(r)}`);
        results.push(r);
      }
      // RPC mode: the instances talk HTTP to the PostgREST-compatible servers (their own
      // processes; see RPC_SERVERS), whose pools go through this pooler.
      const rpcNs = (process.env.FLEET_RPC_N ?? (o.quick ? '10' : '10,50,100')).split(',').map(Number).filter((x) => x > 0);
      for (const n of rpcNs) {
        o.log(`fleet: ${n} instances, RPC mode (${RPC_SERVERS} PostgREST-compatible server process(es) on one port, ${RPC_POOL} connections each ${RPC_VIA_POOLER ? `through the transaction pooler (${SERVER_POOL})` : 'straight to Postgres'}, polling)`);
        const r = await runFleet(cluster, RPC_VIA_POOLER ? tx : null, n, 'rpc', windowMs, rampMs, o.log);
        o.log(`  ${JSON.stringify(r)}`);
        results.push(r);
      }
    } finally { await tx.stop(); }
    if (sessionN > 0) {
      // Session mode holds a server connection per client connection: N × (pool + LISTEN).
      const sess = await startPgbouncer({ upstreamPort: cluster.port, mode: 'session', poolSize: sessionN * (POOL_SIZE + 1) + 2 });
      try {
        o.log(`fleet: ${sessionN} instances, PgBouncer session mode (LISTEN/NOTIFY, prepared statements)`);
        const r = await runFleet(cluster, sess, sessionN, 'session', windowMs, rampMs, o.log);
        o.log(`  ${JSON.stringify(r)}`);
        results.push(r);
      } finally { await sess.stop(); }
    }
  } finally {
    await cluster.stop();
  }
  return results;
}

async function admin<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try { return await fn(sql); } finally { await sql.end({ timeout: 2 }); }
}

async function runFleet(cluster: Cluster, pooler: Pooler | null, n: number, mode: Mode, windowMs: number, rampMs: number,
  log: (s: string) => void, kill?: { procs: number; perProcess: number }) {
  const db = `fleet_${mode[0]}_${n}_${process.pid}`;
  await admin(cluster.adminUrl, (sql) => sql.unsafe(`create database ${db}`));
  const direct = `postgres://postgres@127.0.0.1:${cluster.port}/${db}`;
  const pooled = pooler ? `postgres://postgres@127.0.0.1:${pooler.port}/${db}` : direct;
  await admin(direct, async (sql) => { await migrate(sql); await sql`create extension pg_stat_statements`; });
  const rest = mode === 'rpc' ? spawnChild('postgrest-child.ts', { databaseUrl: pooled, servers: RPC_SERVERS, poolSize: RPC_POOL }) : null;
  const rpc = rest ? await rest.next<{ url: string; serviceRoleKey: string; pids: number[] }>((m) => typeof m.url === 'string', 60_000) : undefined;
  // The benchmark's own queries (producer, monitor) go direct, as another role, so that
  // pg_stat_statements and pg_stat_activity show the instances' alone.
  const mon = postgres(`postgres://${MONITOR_ROLE}@127.0.0.1:${cluster.port}/${db}`, { max: 2, onnotice: () => {} });
  const producer = new PostgresStore({ url: `postgres://${MONITOR_ROLE}@127.0.0.1:${cluster.port}/${db}`, poolSize: 2, prepare: true });
  const littleLaw = (n * CONCURRENCY) / (MEAN_JOB_MS / 1000);
  const backlog = Math.max(5, Math.ceil(littleLaw * 0.5)); // half a second of work kept queued
  let enqueued = 0;
  const enqueue = async (count: number, ms?: () => number) => {
    for (let i = 0; i < count; i += 1000) {
      const t = nowMs();
      await producer.enqueue(Array.from({ length: Math.min(1000, count - i) }, () => ({ kind: 'fleet', payload: { ms: (ms ?? jobMs)(), t } })));
    }
    enqueued += count;
  };

  // Start the instances, packed PER_PROCESS to an OS process.
  const procs = Math.ceil(n / (kill?.perProcess ?? PER_PROCESS));
  const ids = Array.from({ length: n }, (_, i) => `fleet-${mode[0]}${n}-${i}`);
  const children: Child[] = [];
  for (let p = 0; p < procs; p++) {
    const mine = ids.filter((_, i) => i % procs === p);
    children.push(spawnChild('fleet/child.ts', {
      url: pooled, workerIds: mine, concurrency: CONCURRENCY, poolSize: POOL_SIZE,
      rpc: rpc ? { url: rpc.url, serviceRoleKey: rpc.serviceRoleKey } : undefined,
      listen: mode === 'session', pollIntervalMs: POLL_INTERVAL_MS, leaseSeconds: LEASE_SECONDS, maxAhead: MAX_AHEAD,
    }));
  }
  const runCount = new Map<string, number>();
  const startsById = new Map<string, number[]>();
  const starts: { t: number; inst: string; wait: number }[] = [];
  const claimSamples: [number, number][] = [];
  children.forEach((c, p) => {
    const mine = ids.filter((_, i) => i % procs === p);
    c.onMessage((m) => {
      if (m.runs) for (const [id, idx, t, wait] of m.runs as [string, number, number, number][]) {
        runCount.set(id, (runCount.get(id) ?? 0) + 1);
        if (kill) startsById.set(id, [...(startsById.get(id) ?? []), t]);
        starts.push({ t, inst: mine[idx], wait });
      }
      if (m.claims) for (const c2 of m.claims) claimSamples.push(c2);
    });
  });
  try {
    await Promise.all(children.map((c) => c.next((m) => m.ready, 120_000)));
    // Enough to fill every slot plus the backlog, then top up as jobs start.
    await enqueue(n * CONCURRENCY + backlog);
    const t0 = nowMs();
    children.forEach((c) => c.send({ go: true }));
    await Promise.all(children.map((c) => c.next((m) => m.started, 120_000)));
    let producing = true;
    let maxConns = 0;
    // Queued = enqueued - started (from the instances' reports, <= 250 ms old): the
    // producer costs the database nothing but its enqueue() calls.
    const queuedNow = async () => enqueued - runCount.size;
    const connsNow = async () => (await mon`
      select count(*)::int as n from pg_stat_activity
      where datname = ${db} and usename <> ${MONITOR_ROLE} and backend_type = 'client backend'`)[0].n as number;
    const topUp = (async () => {
      while (producing) {
        const q = await queuedNow();
        if (q < backlog) await enqueue(backlog - q);
        if (process.env.BENCH_DEBUG === '2') log(`  t=${Math.round(nowMs() - t0)} queued≈${q} enqueued=${enqueued} started=${runCount.size}`);
        await sleep(200);
      }
    })();
    const sampler = (async () => {
      while (producing) { maxConns = Math.max(maxConns, await connsNow()); await sleep(1000); }
    })();

    await sleep(Math.max(0, t0 + rampMs - nowMs()));
    let killed: Record<string, unknown> = {};
    let heldByVictims = new Set<string>();
    if (kill) {
      // SIGKILL whole OS processes (many logical instances each); every job their
      // instances held must be taken over by the survivors within a lease + 5 s.
      const victims = children.slice(0, kill.procs);
      const victimIds = ids.filter((_, i) => i % procs < kill.procs);
      for (const v of victims) v.proc.kill('SIGKILL');
      const tk = nowMs();
      await Promise.all(victims.map((v) => v.exited));
      await sleep(300); // their last progress reports are in
      const held = await mon`select id::text as id from public.jobs where status = 'running' and lease_owner = any(${victimIds})`;
      heldByVictims = new Set(held.map((h) => h.id as string));
      const limitMs = LEASE_SECONDS * 1000 + 5_000;
      const takenAt = new Map<string, number>();
      for (const end = tk + limitMs + 30_000; nowMs() < end && takenAt.size < heldByVictims.size;) {
        for (const id of heldByVictims) {
          if (takenAt.has(id)) continue;
          const later = (startsById.get(id) ?? []).filter((t) => t > tk);
          if (later.length) takenAt.set(id, later[0] - tk);
        }
        await sleep(250);
      }
      const delays = [...takenAt.values()].sort((x, y) => x - y);
      killed = {
        killedProcesses: kill.procs, killedInstances: victimIds.length, heldJobs: heldByVictims.size,
        takenOver: takenAt.size, takeoverP50Ms: round(pct(delays, 50), 0), takeoverMaxMs: round(delays[delays.length - 1] ?? NaN, 0),
        takeoverLimitMs: limitMs,
      };
      log(`  kill: ${JSON.stringify(killed)}`);
      children.splice(0, kill.procs);
    }
    // The measured window.
    await mon`select pg_stat_statements_reset()`;
    const lsn = async () => BigInt((await mon`select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text as b`)[0].b);
    // CPU by process group over the window: on a 2-core box shared with other work this says
    // who had the cores (the database, the pooler, the RPC servers, the instances, others).
    const cpuNow = () => ({
      machine: machineBusyMs(), bench: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
      pgbouncer: pooler ? treeCpuMs([pooler.pid]) : 0,
      postgrest: (rpc?.pids ?? []).map((p) => treeCpuMs([p])),
      instances: children.map((c) => treeCpuMs([c.proc.pid!])),
    });
    const w0 = nowMs(), cpu0 = cluster.cpuMs(), wal0 = await lsn(), c0 = cpuNow(), load0 = loadavg()[0];
    await sleep(windowMs);
    const w1 = nowMs(), cpu1 = cluster.cpuMs(), wal1 = await lsn(), c1 = cpuNow(), load1 = loadavg()[0];
    const cores = (ms: number) => round(ms / (w1 - w0), 2);
    // pids[0]'s tree is the whole RPC server (a cluster primary holds its servers, pids[1..]).
    const restDelta = c1.postgrest.map((x, i) => x - c0.postgrest[i]);
    const restPer = restDelta.length > 1 ? restDelta.slice(1) : restDelta;
    const instPer = c1.instances.map((x, i) => x - c0.instances[i]);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const cpu = {
      postgres: cores(cpu1 - cpu0), pgbouncer: cores(c1.pgbouncer - c0.pgbouncer),
      postgrest: rpc ? cores(c1.postgrest[0] - c0.postgrest[0]) : 0, postgrestPerProcess: restPer.map(cores),
      instances: cores(sum(instPer)), instancesPerProcessMax: cores(Math.max(0, ...instPer)),
      bench: cores(c1.bench - c0.bench), machine: cores(c1.machine - c0.machine),
    };
    const others = round(cpu.machine - cpu.postgres - cpu.pgbouncer - cpu.postgrest - cpu.instances - cpu.bench, 2);
    // PgBouncer re-sends `SET application_name` when it hands a server connection to a
    // client whose application_name differs (every instance names itself, as the app does):
    // counted apart too, since they are the pooler's statements, not the queue's.
    const [{ calls, sets }] = await mon`
      select coalesce(sum(s.calls), 0)::bigint::text as calls,
             coalesce(sum(s.calls) filter (where s.query ilike 'set application_name%'), 0)::bigint::text as sets
      from pg_stat_statements s
      join pg_database d on d.oid = s.dbid join pg_roles r on r.oid = s.userid
      where d.datname = ${db} and r.rolname <> ${MONITOR_ROLE}`;
    // Per statement, for the report (top 8 by calls).
    const top = await mon`
      select s.calls::int, round(s.total_exec_time::numeric, 1)::float as ms, left(regexp_replace(s.query, '[[:space:]]+', ' ', 'g'), 90) as q
      from pg_stat_statements s join pg_database d on d.oid = s.dbid join pg_roles r on r.oid = s.userid
      where d.datname = ${db} and r.rolname <> ${MONITOR_ROLE} order by s.calls desc limit 8`;
    producing = false;
    await topUp; await sampler;

    // Drain: every enqueued job must run and be recorded succeeded.
    const drainDeadline = nowMs() + 60_000;
    for (;;) {
      const [{ left }] = await mon`select count(*)::int as left from public.jobs where status in ('queued', 'running')`;
      if (left === 0 || nowMs() > drainDeadline) break;
      await sleep(250);
    }
    // Idle wake-up: the pools are idle now; how long does a lone job wait?
    const probeFrom = starts.length;
    const probes = 20;
    for (let i = 0; i < probes; i++) { await enqueue(1, () => 0); await sleep(250); }
    for (const end = nowMs() + 10_000; starts.length - probeFrom < probes && nowMs() < end;) await sleep(50);
    const wake = starts.slice(probeFrom).map((s) => s.wait).sort((x, y) => x - y);

    const stopped = await Promise.all(children.map(async (c) => {
      c.send({ stop: true, graceMs: 5_000 });
      return c.next<{ maxRssMb: number; instances: number }>((m) => m.stopped, 60_000);
    }));
    const [{ succeeded, other, attempts2 }] = await mon`
      select count(*) filter (where status = 'succeeded')::int as succeeded,
             count(*) filter (where status <> 'succeeded')::int as other,
             count(*) filter (where attempts > 1)::int as attempts2
      from public.jobs`;

    if (process.env.BENCH_DEBUG) log(`claims reported: ${claimSamples.length}, starts: ${starts.length}\n${top.map((t) => `    ${t.calls} ${t.ms} ms  ${t.q}`).join('\n')}`);
    const inWindow = starts.filter((s) => s.t >= w0 && s.t < w1);
    const jobs = inWindow.length;
    const perInst = new Map<string, number>(ids.map((id) => [id, 0]));
    for (const s of inWindow) perInst.set(s.inst, perInst.get(s.inst)! + 1);
    const waits = inWindow.map((s) => s.wait).sort((x, y) => x - y);
    const claimMs = claimSamples.filter(([t]) => t >= w0 && t < w1).map(([, d]) => d).sort((x, y) => x - y);
    const counts = [...perInst.values()];
    // A job whose first run died with a killed process runs again: that is recovery, not
    // a duplicate. Any other second start is.
    let duplicates = 0;
    for (const [id, c] of runCount) if (c > 1) duplicates += c - 1 - (heldByVictims.has(id) ? 1 : 0);
    const lost = enqueued - succeeded + Math.max(0, succeeded - runCount.size);
    return {
      instances: n,
      mode,
      maxAhead: MAX_AHEAD ?? 'default (8 x concurrency)',
      jobsPerSec: round(jobs / ((w1 - w0) / 1000), 1),
      littleLawJobsPerSec: round(littleLaw, 1),
      statementsPerJob: round(Number(calls) / jobs, 2),
      poolerSetStatementsPerJob: round(Number(sets) / jobs, 2),
      dbCpuMsPerKJob: round(((cpu1 - cpu0) / jobs) * 1000, 1),
      walBytesPerJob: round(Number(wal1 - wal0) / jobs, 0),
      serverConnections: maxConns,
      serverConnectionBudget: pooler && mode !== 'session' ? pooler.poolSize : mode === 'rpc' ? RPC_SERVERS * RPC_POOL : null,
      claimP99Ms: round(pct(claimMs, 99), 1),
      queueWaitP99Ms: round(pct(waits, 99), 1),
      duplicates,
      lost,
      rssMbPerInstance: round(Math.max(...stopped.map((s) => s.maxRssMb / s.instances)), 1),
      // Beyond the issue's fields:
      processRssMb: round(Math.max(...stopped.map((s) => s.maxRssMb)), 1),
      instancesPerProcess: Math.max(...stopped.map((s) => s.instances)),
      fairnessMinMax: round(Math.min(...counts) / Math.max(1, Math.max(...counts)), 2),
      idleWakeP50Ms: round(pct(wake, 50), 1),
      idleWakeP99Ms: round(pct(wake, 99), 1),
      claimP50Ms: round(pct(claimMs, 50), 1),
      queueWaitP50Ms: round(pct(waits, 50), 1),
      backlogTarget: backlog,
      windowSec: round((w1 - w0) / 1000, 1),
      enqueued, succeeded, notSucceeded: other, retried: attempts2,
      ...(mode === 'rpc' ? { rpcServers: RPC_SERVERS, rpcPoolPerServer: RPC_POOL, rpcVia: pooler ? 'transaction pooler' : 'direct' } : {}),
      // CPU cores used over the window, by process group ("others": the rest of the machine).
      cpuCores: { ...cpu, others },
      loadAvg1mWindow: [round(load0, 2), round(load1, 2)],
      at: new Date().toISOString(),
      ...killed,
    };
  } catch (err) {
    for (const c of children) c.proc.kill('SIGKILL');
    throw err;
  } finally {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    await producer.close().catch(() => {});
    if (rest) { rest.send({ stop: true }); await Promise.race([rest.exited, sleep(5_000)]); if (rest.proc.exitCode === null) rest.proc.kill('SIGKILL'); }
    await mon.end({ timeout: 2 }).catch(() => {});
    await admin(cluster.adminUrl, (sql) => sql.unsafe(`drop database if exists ${db} with (force)`)).catch((e) => log(`drop ${db}: ${e}`));
  }
}
