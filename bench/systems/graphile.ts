// graphile-worker 0.18. Tuned = the documented high-throughput settings, which 0.18
// only reads from preset.worker: a local queue of >= concurrency, batched completions
// (completeJobBatchDelay 0) and a pool of concurrency + 2. Preset = the configuration
// its Performance page (worker.graphile.org/docs/performance) reports its figures with:
// localQueue 500, both batch delays 0, maxPoolSize 25 (the page runs concurrentJobs 24;
// we keep every system at the scenario's 25). Defaults = the same concurrency with
// nothing else set.
import { Logger, makeWorkerUtils, run, runMigrations } from 'graphile-worker';
import pg from 'pg';
import type { System } from './types.ts';

const quiet = new Logger(() => () => {});

function workerPreset(ctx: { dbUrl: string; variant: string }, concurrency: number) {
  const base = { connectionString: ctx.dbUrl, concurrentJobs: concurrency };
  if (ctx.variant === 'defaults') return base;
  if (ctx.variant === 'preset') {
    return { ...base, maxPoolSize: 25, localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 };
  }
  return {
    ...base,
    maxPoolSize: concurrency + 2,
    localQueue: { size: concurrency },
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
  };
}

export const graphile: System = {
  name: 'graphile-worker',
  async prepare(ctx) {
    await runMigrations({ preset: { worker: { connectionString: ctx.dbUrl } }, logger: quiet });
  },
  async seed(ctx, n, job) {
    const utils = await makeWorkerUtils({ preset: { worker: { connectionString: ctx.dbUrl } }, logger: quiet });
    for (let i = 0; i < n; i += 1000) {
      await utils.addJobs(Array.from({ length: Math.min(1000, n - i) }, () => ({ identifier: 'bench', payload: job })));
    }
    await utils.release();
  },
  async producer(ctx) {
    const utils = await makeWorkerUtils({ preset: { worker: { connectionString: ctx.dbUrl } }, logger: quiet });
    return { enqueue: async (job) => { await utils.addJob('bench', job); }, close: async () => { await utils.release(); } };
  },
  async monitor(ctx) {
    const c = new pg.Client({ connectionString: ctx.dbUrl });
    await c.connect();
    return {
      // Finished jobs are deleted by graphile-worker.
      remaining: async () => (await c.query('select count(*)::int as n from graphile_worker._private_jobs')).rows[0].n,
      close: () => c.end(),
    };
  },
  async worker(ctx, concurrency, runJob) {
    let runner: Awaited<ReturnType<typeof run>> | null = null;
    return {
      async start() {
        runner = await run({
          logger: quiet,
          taskList: { bench: async (payload) => { await runJob(payload as never); } },
          preset: { worker: workerPreset(ctx, concurrency) as never },
        });
      },
      async stop() { await runner?.stop(); },
    };
  },
};
