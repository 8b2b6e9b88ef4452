// Prometheus metrics (prom-client), all defined here so every part of the app (pool
// hooks, store, bot, AI provider) increments the same registry that GET /metrics serves.
// Names follow seed 002 (worker_jobs_*, worker_job_duration_seconds); the Redis gauges
// of that seed become their Postgres counterparts (worker_db_*).
//
// Per-instance series (jobs this process ran, its DB connection) are summed across
// instances by Prometheus; queue_* series are cluster-wide (read from the shared
// database through the StatsCache), identical on every instance: aggregate with max().
import client from 'prom-client';
import type { ClaimedJob, JobStatus, QueueStats, Store } from './db/store.ts';
import { cpuLoad } from './cards/limit.ts';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

const c = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
  new client.Counter<L>({ name, help, labelNames, registers: [registry] });
const g = <L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (this: client.Gauge<L>) => void | Promise<void>) =>
  new client.Gauge<L>({ name, help, labelNames, registers: [registry], collect });

// --- jobs run by this instance (wired through the pool hooks in main.ts) -------------
export const jobsTotal = c('worker_jobs_total', 'Jobs this instance started, by kind', ['kind']);
export const jobsCompleted = c('worker_jobs_completed_total', 'Jobs this instance completed successfully, by kind', ['kind']);
export const jobsFailed = c('worker_jobs_failed_total',
  'Failed job attempts on this instance, by kind; outcome "retry" (queued again) or "dead" (no attempts left / permanent)',
  ['kind', 'outcome']);
export const jobDuration = new client.Histogram<'kind' | 'status'>({
  name: 'worker_job_duration_seconds', help: 'Handler run time per attempt, by kind and outcome',
  labelNames: ['kind', 'status'], registers: [registry],
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300],
});
export const leaseTakeovers = c('worker_lease_takeovers_total',
  'Job leases that changed hands: side "took_over" = this instance claimed a job whose worker stopped heartbeating; ' +
  'side "lost" = another instance took over a job this one still held', ['side']);

/**
 * Exports this instance's job counters at 0 for every kind it handles, before any job
 * runs: rate() and increase() miss a labelled counter's first increment when its series
 * did not exist at the previous scrape (Prometheus' advice: initialise known label sets).
 */
export function zeroJobCounters(kinds: readonly string[]): void {
  for (const kind of kinds) {
    jobsTotal.inc({ kind }, 0);
    jobsCompleted.inc({ kind }, 0);
    for (const outcome of ['retry', 'dead']) jobsFailed.inc({ kind, outcome }, 0);
  }
}

/** Jobs in flight on this instance by kind; the source of worker_jobs_processing. */
const inFlight = new Map<string, { kind: string; at: number }>();
g('worker_jobs_processing', 'Jobs in flight on this instance, by kind', ['kind'], function () {
  this.reset();
  const byKind = new Map<string, number>();
  for (const { kind } of inFlight.values()) byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  for (const [kind, n] of byKind) this.set({ kind }, n);
});

// The CPU limit of card work (src/cards/limit.ts, CPU_CONCURRENCY): how full it is and
// how much CPU work waits for it. A long queue here with idle jobs = add cores or instances.
g('cards_cpu_slots', 'Slots of the CPU limit for card work on this instance: state "max", "active" (in use), "waiting" (work queued for one)',
  ['state'], function () {
    const l = cpuLoad();
    this.set({ state: 'max' }, l.max);
    this.set({ state: 'active' }, l.active);
    this.set({ state: 'waiting' }, l.waiting);
  });

export interface JobMetricsEvents {
  onStart(job: ClaimedJob): void;
  onSettled(job: ClaimedJob, status: JobStatus | 'lost', seconds: number, error?: string): void;
}

/** Pool hooks that keep the worker_jobs_* series. `onDead` also reports to error tracking. */
export function jobMetricsHooks(onDead?: (job: ClaimedJob, error: string | undefined) => void): JobMetricsEvents {
  return {
    onStart(job) {
      inFlight.set(job.id, { kind: job.kind, at: Date.now() });
      jobsTotal.inc({ kind: job.kind });
    },
    onSettled(job, status, seconds, error) {
      inFlight.delete(job.id);
      if (status === 'succeeded') {
        jobsCompleted.inc({ kind: job.kind });
        jobDuration.observe({ kind: job.kind, status: 'succeeded' }, seconds);
      } else if (status === 'queued' || status === 'dead') {
        jobsFailed.inc({ kind: job.kind, outcome: status === 'dead' ? 'dead' : 'retry' });
        jobDuration.observe({ kind: job.kind, status: 'failed' }, seconds);
        if (status === 'dead') onDead?.(job, error);
      }
    },
  };
}

// --- the queue as a whole (cluster-wide, from the cached stats: no scan per scrape) ------
export function registerQueueGauges(stats: () => Promise<{ stats: QueueStats | null }>): void {
  for (const name of ['queue_jobs', 'queue_oldest_queued_seconds', 'queue_live_workers', 'queue_expired_leases',
    'queue_succeeded_last_minute']) registry.removeSingleMetric(name);
  let pending: Promise<QueueStats | null> | null = null;
  // One stats read per scrape, shared by the gauges below.
  const read = () => (pending ??= stats().then((r) => r.stats, () => null).finally(() => setTimeout(() => { pending = null; }, 50)));
  g('queue_jobs', 'Jobs in the queue by status (cluster-wide; scheduled = waiting for a retry)', ['status'], async function () {
    const s = await read();
    if (!s) return;
    this.set({ status: 'queued' }, s.queued);
    this.set({ status: 'scheduled' }, s.scheduled);
    this.set({ status: 'running' }, s.running);
    this.set({ status: 'dead' }, s.dead);
  });
  g('queue_oldest_queued_seconds', 'Age of the oldest job that is due and not yet claimed', [], async function () {
    const s = await read(); if (s) this.set(s.oldestQueuedSeconds);
  });
  g('queue_live_workers', 'Instances with a fresh heartbeat (cluster-wide)', [], async function () {
    const s = await read(); if (s) this.set(s.instances.length);
  });
  g('queue_expired_leases', 'Running jobs whose lease lapsed (their worker stopped heartbeating)', [], async function () {
    const s = await read(); if (s) this.set(s.expiredLeases);
  });
  g('queue_succeeded_last_minute', 'Jobs completed in the last minute (cluster-wide)', [], async function () {
    const s = await read(); if (s) this.set(s.last24h.lastMinute);
  });
}

// --- Telegram and the AI provider (incremented by src/telegram, src/cards) -------------
export const telegramApiErrors = c('telegram_api_errors_total', 'Failed Telegram Bot API calls, by method and error code (429 = rate limited)', ['method', 'code']);
export const aiProviderCalls = c('ai_provider_calls_total', 'Calls to the AI provider, by outcome (ok, error, rate_limited)', ['outcome']);
export const aiRateLimitWaits = c('ai_rate_limit_waits_total', 'Times an AI call had to wait for the shared rate limit, by window (minute, hour, day, provider_429)', ['window']);
export const aiRateLimitWaitSeconds = c('ai_rate_limit_wait_seconds_total', 'Seconds spent waiting for the AI rate limit');
export const aiCostUsd = c('ai_cost_usd_total', 'What the AI provider reported it charged (usage.cost, USD) for the answers this instance recorded');
export const aiBackdrops = c('ai_backdrops_total', 'AI backdrop requests by outcome: image (new), recorded (reused, no call), or why a local backdrop is used', ['outcome']);
export const aiRecordWindow = new client.Histogram({
  name: 'ai_record_window_seconds',
  help: 'From a paid answer arriving to its record being committed: a worker killed inside this window pays again',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
});

// Known label sets start at 0, as the job counters do (zeroJobCounters). Telegram errors
// are keyed by method and code, too many pairs to list: their first one is seen as a step.
for (const outcome of ['ok', 'error', 'rate_limited']) aiProviderCalls.inc({ outcome }, 0);
for (const window of ['minute', 'hour', 'day', 'unavailable', 'provider_429']) aiRateLimitWaits.inc({ window }, 0);

export function recordTelegramError(method: string, code: number | string): void {
  telegramApiErrors.inc({ method, code: String(code) });
}
export function recordAiCall(outcome: 'ok' | 'error' | 'rate_limited'): void {
  aiProviderCalls.inc({ outcome });
}
export function recordAiCost(usd: number): void {
  if (usd > 0) aiCostUsd.inc(usd);
}
export function recordAiBackdrop(outcome: string, recordWindowSeconds?: number): void {
  aiBackdrops.inc({ outcome });
  if (recordWindowSeconds != null) aiRecordWindow.observe(recordWindowSeconds);
}
export function recordAiRateLimitWait(window: string, seconds: number): void {
  aiRateLimitWaits.inc({ window });
  aiRateLimitWaitSeconds.inc(Math.max(0, seconds));
}

// --- database connection (Postgres counterparts of seed 002's Redis gauges) --------------
export const dbConnectionStatus = g('worker_db_connection_status', '1 while the last database call of this instance reached the database, 0 otherwise');
export const dbReconnectAttempts = c('worker_db_reconnect_attempts_total', 'Database calls made while the connection was down (each is a reconnect attempt)');
export const dbErrors = c('worker_db_errors_total', 'Database calls that failed, by kind (connection or query)', ['kind']);
dbConnectionStatus.set(0);

let dbUp: boolean | null = null;
/** True for errors that mean "could not reach the database" rather than "the query failed". */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^(08|57P0[1-3]|53300)/.test(code)) return true; // connection exception, admin shutdown, too many connections
  if (/^(ECONN|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE|CONNECT_TIMEOUT|CONNECTION_)/.test(code)) return true;
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return true;
  return /fetch failed|ECONNREFUSED|terminating connection|Connection terminated|socket hang up/i.test(String(e?.message ?? ''));
}

function dbCall(ok: boolean, err?: unknown) {
  if (ok) {
    dbUp = true;
    dbConnectionStatus.set(1);
    return;
  }
  const connection = isConnectionError(err);
  dbErrors.inc({ kind: connection ? 'connection' : 'query' });
  if (connection) { dbUp = false; dbConnectionStatus.set(0); }
  else { dbUp = true; dbConnectionStatus.set(1); } // the database answered, with an error
}

/**
 * The Store with metrics around it: connection status from every call's outcome, and
 * lease takeovers read off claim/heartbeat/complete/fail results. Behaviour unchanged.
 */
export function instrumentStore<S extends Store>(store: S, workerId: string): S {
  const wrap = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, after?: (r: R, a: A, sentAt: number) => void) =>
    async (...args: A): Promise<R> => {
      const sentAt = Date.now();
      if (dbUp === false) dbReconnectAttempts.inc();
      let result: R;
      try {
        result = await fn.apply(store, args);
      } catch (err) {
        dbCall(false, err);
        throw err;
      }
      dbCall(true);
      after?.(result, args, sentAt);
      return result;
    };
  // Only jobs still in flight here count: one that settled meanwhile is not a takeover.
  // A job started after the call was sent cannot be in its answer yet.
  const lost = (ids: string[], sentAt = Infinity) => {
    for (const id of ids) {
      const f = inFlight.get(id);
      if (f && f.at < sentAt) { inFlight.delete(id); leaseTakeovers.inc({ side: 'lost' }); }
    }
  };
  const overrides: Partial<Store> = {
    claim: wrap(store.claim, (jobs) => {
      for (const j of jobs) {
        if (j.lastError?.startsWith('lease expired: worker ') && !j.lastError.includes(`worker ${workerId} `))
          leaseTakeovers.inc({ side: 'took_over' });
      }
    }),
    heartbeat: wrap(store.heartbeat, (kept, [beat], sentAt) => {
      const still = new Set([...kept.owned, ...kept.canceled]); // a canceled job is not a takeover
      lost(beat.ids.filter((id) => !still.has(id)), sentAt);
    }),
    complete: wrap(store.complete, (done, [, batch]) => {
      const ok = new Set(done);
      lost(batch.map((d) => d.id).filter((id) => !ok.has(id)));
    }),
    fail: wrap(store.fail, (r, [, f]) => { if (r === null) lost([f.id]); }),
    release: wrap(store.release, (_n, [, ids]) => { for (const id of ids) inFlight.delete(id); }),
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop in overrides) return overrides[prop as keyof Store];
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      if (prop === 'close' || prop === 'onWake') return v.bind(target);
      return wrap(v as (...a: unknown[]) => Promise<unknown>);
    },
  });
}

/** Prometheus text exposition of everything above. */
export function renderMetrics(): Promise<string> {
  return registry.metrics();
}
export const metricsContentType = registry.contentType;
