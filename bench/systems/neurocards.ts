// neurocards: the app's own WorkerPool and Store (direct Postgres, or supabase-js RPC
// through the PostgREST-compatible test server), on the real migrations.
import postgres from 'postgres';
import { z } from 'zod';
import { migrate } from '../../src/db/migrate.ts';
import { PostgresStore } from '../../src/db/postgres.ts';
import type { Store } from '../../src/db/store.ts';
import { SupabaseStore } from '../../src/db/supabase.ts';
import { createLogger } from '../../src/log.ts';
import { WorkerPool } from '../../src/worker/pool.ts';
import { JobRegistry, defineJob } from '../../src/worker/registry.ts';
import { spawnChild } from '../lib.ts';
import type { BenchJob, Ctx, System } from './types.ts';

const POOL_SIZE = Number(process.env.DB_POOL_SIZE ?? 5);

/** The PostgREST-compatible server, in its own process (bench/postgrest-child.ts). */
async function rpcServer(ctx: Ctx) {
  const child = spawnChild('postgrest-child.ts', { databaseUrl: ctx.dbUrl });
  const { url, serviceRoleKey } = await child.next<{ url: string; serviceRoleKey: string }>((m) => typeof m.url === 'string', 60_000);
  return {
    url, serviceRoleKey,
    close: async () => { child.send({ stop: true }); await child.exited; },
  };
}

async function openStore(ctx: Ctx): Promise<{ store: Store; close(): Promise<void> }> {
  if (ctx.variant === 'rpc') {
    const rest = await rpcServer(ctx);
    const store = new SupabaseStore({ url: rest.url, serviceRoleKey: rest.serviceRoleKey });
    return { store, close: async () => { await store.close(); await rest.close(); } };
  }
  const store = new PostgresStore({ url: ctx.dbUrl, poolSize: POOL_SIZE, prepare: true, applicationName: 'bench' });
  return { store, close: () => store.close() };
}

export const neurocards: System = {
  name: 'neurocards',
  async prepare(ctx) {
    const sql = postgres(ctx.dbUrl, { max: 1, onnotice: () => {} });
    await migrate(sql);
    await sql.end();
  },
  async seed(ctx, n, job) {
    // Through the app's own enqueue(), in batches, so fair-clock and history are real.
    const { store, close } = await openStore({ ...ctx, variant: 'direct' });
    for (let i = 0; i < n; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, n - i) }, () => ({ kind: 'bench', payload: job }));
      await store.enqueue(batch);
    }
    await close();
  },
  async producer(ctx) {
    const { store, close } = await openStore({ ...ctx, variant: 'direct' });
    return { enqueue: async (job) => { await store.enqueue([{ kind: 'bench', payload: job }]); }, close };
  },
  async monitor(ctx) {
    const sql = postgres(ctx.dbUrl, { max: 1, onnotice: () => {} });
    return {
      remaining: async () => (await sql`select count(*)::int as n from public.jobs where status in ('queued', 'running')`)[0].n,
      close: () => sql.end(),
    };
  },
  async worker(ctx, concurrency, run) {
    const { store, close } = await openStore(ctx);
    const trace: Record<string, { n: number; ms: number; rows: number; max: number }> = {};
    if (process.env.BENCH_TRACE) {
      // Per-call timings of the store, printed to stderr at stop (BENCH_TRACE=1 BENCH_DEBUG=1).
      for (const m of ['claim', 'complete'] as const) {
        const orig = store[m].bind(store) as (...a: unknown[]) => Promise<unknown[]>;
        const t = (trace[m] = { n: 0, ms: 0, rows: 0, max: 0 });
        (store as any)[m] = async (...a: unknown[]) => {
          const s0 = performance.now();
          const r = await orig(...a);
          const d = performance.now() - s0;
          t.n++; t.ms += d; t.rows += r.length; t.max = Math.max(t.max, d);
          return r;
        };
      }
    }
    const job = defineJob({
      kind: 'bench',
      payload: z.object({ ms: z.number().int().min(0), t: z.number().optional() }),
      policy: 'fast',
      timeoutMs: 60_000,
      handle: (p: BenchJob) => run(p),
    });
    const pool = new WorkerPool({
      store, registry: new JobRegistry([job]), log: createLogger({ level: process.env.BENCH_LOG ?? 'silent' }),
      workerId: `bench-${process.pid}`, concurrency, leaseSeconds: 30,
      pollIntervalMs: ctx.variant === 'rpc' ? 200 : 1000,
      // BENCH_MAX_AHEAD: experiments with how far the pool claims ahead (default 8 × concurrency).
      ...(process.env.BENCH_MAX_AHEAD ? { maxAhead: Number(process.env.BENCH_MAX_AHEAD) } : {}),
    });
    return {
      start: () => pool.start(),
      stop: async () => {
        await pool.stop(5_000);
        await close();
        if (process.env.BENCH_TRACE) process.stderr.write(`[${process.pid}] ${JSON.stringify(trace)}\n`);
      },
    };
  },
};
