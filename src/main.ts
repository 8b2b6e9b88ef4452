// Composition root: config → store (migrations checked) → worker pool, HTTP, bot;
// and the one place that owns graceful shutdown. Nothing in src/bot calls src/worker
// or the other way round: they meet only through the store.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from './config.ts';
import { openStore } from './db/open.ts';
import type { Store } from './db/store.ts';
import type { Logger } from './log.ts';
import { scrub } from './log.ts';
import { healthHandlers } from './http/health.ts';
import { opsHandlers } from './http/ops.ts';
import { createHttpApp } from './http/routes.ts';
import { listen } from './http/server.ts';
import { StatsCache } from './http/stats-cache.ts';
import { noopJob } from './worker/jobs/noop.ts';
import { pruneJobsJob } from './worker/jobs/prune-jobs.ts';
import { pruneAiCallsJob } from './ai/jobs/prune-ai-calls.ts';
import { isPeriodic, Scheduler } from './worker/schedule.ts';
import { WorkerPool } from './worker/pool.ts';
import { JobRegistry } from './worker/registry.ts';
import { composeTelegram, type TelegramPart } from './compose-telegram.ts';
import { composeApi } from './api/index.ts';
import { instrumentStore, jobMetricsHooks, registerQueueGauges, zeroJobCounters } from './metrics.ts';
import { initErrorTracking } from './errors.ts';
import { cpuLoad, setCpuLimit } from './cards/limit.ts';

export interface AppOptions {
  bot?: boolean;
  worker?: boolean;
  port?: number;
}

export interface RunningApp {
  store: Store;
  port: number;
  pool?: WorkerPool;
  telegram: TelegramPart;
  /** Graceful stop; resolves when everything is closed. Safe to call twice. */
  stop(reason?: string): Promise<void>;
}

export async function startApp(config: Config, log: Logger, o: AppOptions = {}): Promise<RunningApp> {
  const db = config.database;
  log.info({ database: db.mode, why: db.why }, `database mode: ${db.mode} (${db.why})`);
  const errors = initErrorTracking({ dsn: config.SENTRY_DSN, instanceId: config.instanceId, environment: config.NODE_ENV, log });
  const opened = await openStore(config, log);
  const { store } = opened;
  if (config.CPU_CONCURRENCY) setCpuLimit(config.CPU_CONCURRENCY);
  log.info({ cpuConcurrency: cpuLoad().max, jobConcurrency: config.JOB_CONCURRENCY }, 'CPU limit for card work');
  // Metrics see every call of the pool and the stats (connection status, lease takeovers).
  const measured = instrumentStore(store, config.instanceId);

  const telegram = composeTelegram(config, opened, log, { bot: o.bot !== false });
  const api = composeApi(config, opened, log); // issue 8: cards over HTTP on /api
  const kinds = [noopJob, pruneJobsJob(store, config.MAINTENANCE_EVERY_S * 1000), pruneAiCallsJob(opened.ai, config.MAINTENANCE_EVERY_S * 1000),
    ...telegram.jobs, ...api.jobs];
  const registry = new JobRegistry(kinds);
  const pool = o.worker === false ? undefined : new WorkerPool({
    store: measured, registry, log, workerId: config.instanceId,
    concurrency: config.JOB_CONCURRENCY, leaseSeconds: config.LEASE_SECONDS, pollIntervalMs: config.POLL_INTERVAL_MS,
    hooks: jobMetricsHooks((job, error) => errors.jobDead(job, error)),
  });
  // Maintenance (retention) as queue jobs, once per period across all instances.
  const scheduler = pool && new Scheduler({ store: measured, schedules: kinds.filter(isPeriodic), log });

  if (pool) zeroJobCounters(registry.names());

  let shuttingDown = false;
  const stats = new StatsCache(measured);
  registerQueueGauges(() => stats.get());
  // Every route is in src/http/routes.ts' table; these are the handlers it mounts.
  const app = createHttpApp({
    health: healthHandlers({
      stats, isShuttingDown: () => shuttingDown,
      worker: pool && {
        id: config.instanceId,
        concurrency: pool.concurrency,
        get inFlight() { return pool.inFlight; },
        health: () => pool.health(),
      },
    }),
    ops: opsHandlers({ store: measured, log, adminToken: config.ADMIN_TOKEN, schedules: scheduler && (() => scheduler.status()) }),
    api: api.handlers,
    webhook: telegram.webhook(() => shuttingDown),
  }, log);
  const server = await listen(app, o.port ?? config.PORT);
  log.info({ port: server.port, dashboard: config.ADMIN_TOKEN ? 'retry enabled (ADMIN_TOKEN)' : 'read-only (no ADMIN_TOKEN)' },
    `HTTP on :${server.port} (GET / dashboard, /queue, /healthz, /metrics)`);

  await scheduler?.start(); // this period's maintenance jobs, before the pool says it started
  if (pool) await pool.start();
  else log.info('worker off (--no-worker)');

  await telegram.startBot();

  let stopping: Promise<void> | null = null;
  const stop = (reason = 'stop requested') => (stopping ??= (async () => {
    log.info({ reason, graceMs: config.SHUTDOWN_GRACE_MS }, 'shutting down');
    const graceEnds = Date.now() + config.SHUTDOWN_GRACE_MS;
    shuttingDown = true; // /queue and /healthz answer 503 from now on, /telegram too
    scheduler?.stop();
    const botFailed = (err: any) => log.warn({ err: scrub(String(err?.message ?? err)) }, 'stopping the bot failed');
    // Order: no new updates; no new claims, running jobs get the grace, the rest go back
    // unspent; then bot handlers get what is left of the grace and are abandoned.
    await telegram.stopUpdates().catch(botFailed);
    if (pool) await pool.stop(Math.max(0, graceEnds - Date.now()));
    await telegram.stop(graceEnds).catch(botFailed);
    // A request still running (a slow upload) must not hold the exit.
    await Promise.race([server.close(), sleep(1_000)]);
    await opened.close();
    await errors.close(); // flush queued error reports before the process exits
    log.info('stopped');
  })());

  return { store, port: server.port, pool, telegram, stop };
}
