// A worker OS process for the multi-process tests: the real WorkerPool and store,
// plus an `effect` job kind whose side effect (a row in test_effects) lets the test
// count how many times each job really ran. Prints one JSON line when stopped.
import postgres from 'postgres';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { PostgresStore } from '../../src/db/postgres.ts';
import { createLogger } from '../../src/log.ts';
import { noopJob } from '../../src/worker/jobs/noop.ts';
import { WorkerPool } from '../../src/worker/pool.ts';
import { defineJob, JobRegistry } from '../../src/worker/registry.ts';

const url = process.env.DATABASE_URL!;
const workerId = process.env.WORKER_ID!;
const concurrency = Number(process.env.CONCURRENCY ?? 8);
const effects = postgres(url, { max: 4, onnotice: () => {} });
const epochSeconds = () => (performance.timeOrigin + performance.now()) / 1000;
let current = 0;
let peak = 0;

const effectJob = defineJob({
  kind: 'effect',
  payload: z.object({ ms: z.number().int().min(0) }),
  policy: 'standard',
  timeoutMs: 30_000,
  async handle({ ms }, { job, signal }) {
    current++;
    peak = Math.max(peak, current);
    // Start and end of the work (up to the write) on this process' clock, to the
    // microsecond: a Date (whole ms) for the start against the database's now() for the
    // end made back-to-back jobs look overlapping.
    const startedAt = epochSeconds();
    try {
      await sleep(ms, undefined, { signal });
      await effects`insert into test_effects (job_id, attempt, worker, started_at, finished_at)
                    values (${job.id}, ${job.attempts}, ${workerId}, to_timestamp(${startedAt}), to_timestamp(${epochSeconds()}))`;
    } finally {
      current--;
    }
  },
});

const store = new PostgresStore({ url, poolSize: 4, prepare: true });
const pool = new WorkerPool({
  store, log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'warn', instanceId: workerId }),
  registry: new JobRegistry([noopJob, effectJob]), workerId, concurrency,
  leaseSeconds: Number(process.env.LEASE_SECONDS ?? 30), pollIntervalMs: 200,
});
await pool.start();
process.stdout.write(JSON.stringify({ ready: workerId }) + '\n');

process.on('SIGTERM', async () => {
  await pool.stop(5_000);
  process.stdout.write(JSON.stringify({ worker: workerId, peakInFlight: pool.peakInFlight, peakHandlers: peak, claimed: pool.claimed }) + '\n');
  await store.close();
  await effects.end();
  process.exit(0);
});
