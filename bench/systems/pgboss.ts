// pg-boss 12: batchSize 25 with burstWhenBatchFull (with batchSize 1 a worker caps at
// localConcurrency / polling interval), LISTEN/NOTIFY on (useListenNotify + the
// queue's notify) so an idle worker wakes on insert instead of polling every 2 s.
import { PgBoss } from 'pg-boss';
import pg from 'pg';
import type { System } from './types.ts';

const QUEUE = 'bench';

function boss(url: string, o: Record<string, unknown> = {}) {
  const b = new PgBoss({
    connectionString: url, useListenNotify: true,
    schedule: false, supervise: false, ...o,
  } as never);
  b.on('error', () => {});
  return b;
}

export const pgboss: System = {
  name: 'pg-boss',
  async prepare(ctx) {
    const b = boss(ctx.dbUrl, { max: 2 });
    await b.start();
    await b.createQueue(QUEUE, { notify: true } as never);
    await b.stop({ graceful: false } as never);
  },
  async seed(ctx, n, job) {
    const b = boss(ctx.dbUrl, { max: 2 });
    await b.start();
    for (let i = 0; i < n; i += 1000) {
      await b.insert(QUEUE, Array.from({ length: Math.min(1000, n - i) }, () => ({ data: job })));
    }
    await b.stop({ graceful: false } as never);
  },
  async producer(ctx) {
    const b = boss(ctx.dbUrl, { max: 2 });
    await b.start();
    return {
      enqueue: async (job) => { await b.send(QUEUE, job); },
      close: () => b.stop({ graceful: false } as never),
    };
  },
  async monitor(ctx) {
    const c = new pg.Client({ connectionString: ctx.dbUrl });
    await c.connect();
    return {
      remaining: async () =>
        (await c.query(`select count(*)::int as n from pgboss.job where name = $1 and state < 'completed'`, [QUEUE])).rows[0].n,
      close: () => c.end(),
    };
  },
  async worker(ctx, concurrency, runJob) {
    const b = boss(ctx.dbUrl, { max: 4 });
    await b.start();
    return {
      async start() {
        await b.work(QUEUE, {
          batchSize: concurrency, burstWhenBatchFull: true, localConcurrency: 1, pollingIntervalSeconds: 0.5,
        } as never, (async (jobs: { data: never }[]) => { await Promise.all(jobs.map((j) => runJob(j.data))); }) as never);
      },
      async stop() { await b.stop({ graceful: true, timeout: 5000 } as never); },
    };
  },
};
