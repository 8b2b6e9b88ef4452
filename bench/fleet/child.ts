// One OS process hosting several logical instances of the fleet benchmark. Each instance
// is what one Render instance runs: its own PostgresStore (own postgres.js pool and
// connections), its own WorkerPool (claim loop, heartbeat, `workers` row, worker id).
// Nothing is shared between them but the code. Reports, every 250 ms, which jobs started
// (id, instance, start time, queue wait) and every claim's round trip.
import pino from 'pino';
import { z } from 'zod';
import { PostgresStore } from '../../src/db/postgres.ts';
import type { Store } from '../../src/db/store.ts';
import { SupabaseStore } from '../../src/db/supabase.ts';
import { createLogger } from '../../src/log.ts';
import { WorkerPool } from '../../src/worker/pool.ts';
import { JobRegistry, defineJob } from '../../src/worker/registry.ts';
import { nowMs, onParentMessage, sleep, toParent } from '../lib.ts';

interface Args {
  url: string; workerIds: string[]; concurrency: number; poolSize: number;
  listen: boolean; pollIntervalMs: number; leaseSeconds: number; maxAhead?: number;
  /** RPC mode: the PostgREST-compatible server's address instead of a database URL. */
  rpc?: { url: string; serviceRoleKey: string };
}
const a = JSON.parse(process.env.BENCH_ARGS!) as Args;

let runs: [string, number, number, number][] = [];
let claims: [number, number][] = [];
/** Claims on their way, per instance: when they were sent. */
const pending = new Map<number, number>();
// stderr: stdout is the JSON channel to the parent (BENCH_LOG=warn BENCH_DEBUG=1 shows lost leases).
const log = createLogger({ level: process.env.BENCH_LOG ?? 'silent', destination: pino.destination({ dest: 2, sync: false }) });

const instances = a.workerIds.map((workerId, idx) => {
  // Behind the transaction pooler: what the app does with DATABASE_PREPARE=false (no
  // prepared statements, no LISTEN: the pool polls).
  const opts = { url: a.url, poolSize: a.poolSize, prepare: a.listen, listen: a.listen, applicationName: workerId };
  const store: Store = a.rpc ? new SupabaseStore({ url: a.rpc.url, serviceRoleKey: a.rpc.serviceRoleKey })
    : new PostgresStore(opts);
  const claim = store.claim.bind(store);
  store.claim = async (w, limit, lease) => {
    const t0 = nowMs();
    pending.set(idx, t0);
    const r = await claim(w, limit, lease);
    pending.delete(idx);
    claims.push([t0, nowMs() - t0]);
    return r;
  };
  const job = defineJob({
    kind: 'fleet',
    payload: z.object({ ms: z.number().int().min(0), t: z.number() }),
    policy: 'fast',
    timeoutMs: 120_000,
    handle: async (p, ctx) => {
      const t = nowMs();
      runs.push([ctx.job.id, idx, t, t - p.t]);
      if (p.ms) await sleep(p.ms);
    },
  });
  const pool = new WorkerPool({
    store, registry: new JobRegistry([job]), log, workerId, concurrency: a.concurrency,
    leaseSeconds: a.leaseSeconds, pollIntervalMs: a.pollIntervalMs,
    ...(a.maxAhead !== undefined ? { maxAhead: a.maxAhead } : {}),
  });
  return { store, pool };
});

const report = setInterval(() => {
  if (runs.length || claims.length) { toParent({ runs, claims }); runs = []; claims = []; }
  if (process.env.BENCH_DEBUG === '2') {
    const now = nowMs();
    const slow = [...pending].filter(([, t]) => now - t > 2000).map(([i, t]) => `${a.workerIds[i]}:${Math.round(now - t)}ms`);
    const inFlight = instances.map((i) => i.pool.inFlight);
    process.stderr.write(`[${process.pid}] inFlight ${inFlight.join(',')}${slow.length ? ' slow claims ' + slow.join(' ') : ''}\n`);
  }
}, 250);

onParentMessage(async (m) => {
  if (m.go) {
    await Promise.all(instances.map((i) => i.pool.start()));
    toParent({ started: true });
  } else if (m.stop) {
    await Promise.all(instances.map((i) => i.pool.stop(m.graceMs ?? 5_000).catch((e) => process.stderr.write(`stop: ${e}\n`))));
    await Promise.all(instances.map((i) => i.store.close().catch(() => {})));
    clearInterval(report);
    toParent({ runs, claims });
    toParent({ stopped: true, maxRssMb: process.resourceUsage().maxRSS / 1024, instances: instances.length });
    process.exit(0);
  }
});
toParent({ ready: true });
