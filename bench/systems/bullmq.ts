// BullMQ on the local Redis, ioredis connections passed in. Tuned: concurrency 25 and
// completed jobs removed at once (its documented advice for throughput); defaults keeps
// every completed job, like the Postgres queues keep history.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../lib.ts';
import type { System } from './types.ts';

const conn = () => new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const opts = (ctx: { variant: string }) => (ctx.variant === 'defaults' ? {} : { removeOnComplete: true, removeOnFail: 1000 });

export const bullmq: System = {
  name: 'bullmq',
  async prepare() {},
  async seed(ctx, n, job) {
    const connection = conn();
    const q = new Queue(ctx.tag, { connection });
    for (let i = 0; i < n; i += 1000) {
      await q.addBulk(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'bench', data: job, opts: opts(ctx) })));
    }
    await q.close(); connection.disconnect();
  },
  async producer(ctx) {
    const connection = conn();
    const q = new Queue(ctx.tag, { connection });
    return {
      enqueue: async (job) => { await q.add('bench', job, opts(ctx)); },
      close: async () => { await q.close(); connection.disconnect(); },
    };
  },
  async monitor(ctx) {
    const connection = conn();
    const q = new Queue(ctx.tag, { connection });
    return {
      remaining: async () =>
        Object.values(await q.getJobCounts('wait', 'active', 'delayed', 'prioritized')).reduce((a, b) => a + b, 0),
      close: async () => { await q.close(); connection.disconnect(); },
    };
  },
  async worker(ctx, concurrency, run) {
    const connection = conn();
    let w: Worker | null = null;
    return {
      async start() {
        w = new Worker(ctx.tag, async (job) => { await run(job.data); }, { connection, concurrency, autorun: true });
        w.on('error', () => {});
        await w.waitUntilReady();
      },
      async stop() { await w?.close(); connection.disconnect(); },
    };
  },
  async cleanup(ctx) {
    const connection = conn();
    const q = new Queue(ctx.tag, { connection });
    await q.obliterate({ force: true }).catch(() => {});
    await q.close(); connection.disconnect();
  },
};
