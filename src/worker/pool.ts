// The worker pool: claims as many jobs as it has free slots, in one call, runs them
// under p-limit (JOB_CONCURRENCY is a hard cap on handlers in flight), and records
// outcomes through the Settler. Wake-ups come from LISTEN/NOTIFY (direct mode), a job
// finishing (a slot frees up), or a poll timer that backs off while the queue is idle.
//
// Claiming ahead: with a backlog of short jobs, a claim's round trip is the ceiling
// (25 slots / 2 ms = 12,500 jobs/s, whatever the handlers cost). So while the last claim
// came back full, the pool also claims the jobs it will start during the next claim round
// trips and holds them, leased and heartbeated, until a slot frees. That count is
// measured, not predicted: the rate jobs finished at over the last few claim round trips
// × AHEAD_ROUND_TRIPS claim round trips (Little's law on what actually happened, at most
// maxAhead). A prediction from job run
// times went wrong in a fleet: a few short jobs finishing first made an instance hold
// ~1,800 ten-second jobs while its neighbours idled. Measured, an instance never holds
// more than it will start before a neighbour's claim could have taken them; for jobs
// longer than a claim that is zero. Held jobs are handed back unspent at shutdown.
import { hostname } from 'node:os';
import pLimit from 'p-limit';
import { z } from 'zod';
import type { ClaimedJob, JobStatus, Store } from '../db/store.ts';
import type { Logger } from '../log.ts';
import { scrub } from '../log.ts';
import { Heartbeat } from './lease.ts';
import type { JobRegistry } from './registry.ts';
import { POLICIES, PermanentError, retryDelayFor, type RetryPolicy } from './retry.ts';
import { Settler } from './settle.ts';

export class JobTimeoutError extends Error {
  constructor(ms: number) { super(`timed out after ${ms} ms`); this.name = 'JobTimeoutError'; }
}
export class LeaseLostError extends Error {
  constructor() { super('lease lost: the job was taken over by another worker'); this.name = 'LeaseLostError'; }
}
export class JobCanceledError extends Error {
  constructor() { super('job canceled'); this.name = 'JobCanceledError'; }
}
export class ShutdownError extends Error {
  constructor() { super('worker shutting down: job handed back'); this.name = 'ShutdownError'; }
}

export interface PoolHooks {
  onStart?(job: ClaimedJob): void;
  onSettled?(job: ClaimedJob, status: JobStatus | 'lost', seconds: number, error?: string): void;
}

export interface PoolOptions {
  store: Store;
  registry: JobRegistry;
  log: Logger;
  workerId: string;
  concurrency: number;
  leaseSeconds: number;
  /** Longest idle poll interval. RPC mode starts at 1/10 of it after work and backs off. */
  pollIntervalMs: number;
  /**
   * Most jobs claimed ahead of free slots (default: 8 × concurrency; 0 = never). Only
   * sub-millisecond jobs reach it (the measured completion rate asks for less for anything
   * longer). For those a claim costs ~0.5 ms plus ~25 µs a row, so bigger claims amortise the fixed
   * part (drain of no-op jobs, concurrency 25, medians of 5-6 runs: 1 × ~24,000 jobs/s,
   * 4 × ~28,000-30,000, 8 × ~35,000, 16 × ~37,000).
   */
  maxAhead?: number;
  hooks?: PoolHooks;
}

interface Running {
  job: ClaimedJob;
  claimedAt: number;
  startedAt: number;
  /** Lease lost or handed back: the outcome must not be recorded. */
  abandoned: boolean;
  /** Why the job was interrupted (timeout, lost lease, shutdown); set once. */
  stopReason?: Error;
  /** Rejects the handler's race when the job is interrupted. */
  interrupt?: (reason: Error) => void;
  /** Made only when the handler reads ctx.signal: an AbortController per job was a
   *  fifth of the pool's CPU at 10,000 no-op jobs/s, and most jobs never look at it. */
  controller?: AbortController;
  timer?: NodeJS.Timeout;
}

/** Interrupts a running job: its AbortSignal (if made) fires and its race rejects. */
function interrupt(r: Running, reason: Error) {
  if (r.stopReason) return;
  r.stopReason = reason;
  r.controller?.abort(reason);
  r.interrupt?.(reason);
}

function signalOf(r: Running): AbortSignal {
  if (!r.controller) {
    r.controller = new AbortController();
    if (r.stopReason) r.controller.abort(r.stopReason);
  }
  return r.controller.signal;
}

/** Settles with the handler, or rejects as soon as the job is interrupted. */
function raceInterrupt<T>(r: Running, work: Promise<T>): Promise<T> {
  if (r.stopReason) return Promise.reject(r.stopReason);
  return new Promise<T>((resolve, reject) => {
    r.interrupt = reject;
    work.then(resolve, reject);
  });
}

function onTimeout(r: Running, ms: number) {
  interrupt(r, new JobTimeoutError(ms));
}

/** What a handler gets. Its signal and child logger are made on first use, and it
 *  is a class so that a job costs one object, not a handful of closures. */
class JobCtx {
  private child?: Logger;
  constructor(private readonly r: Running, private readonly parent: Logger) {}
  get job() { return this.r.job; }
  get signal() { return signalOf(this.r); }
  get log(): Logger {
    // pino builds its redaction for every child: ~3% of a worker's CPU at 15,000 jobs/s
    const { job } = this.r;
    return (this.child ??= this.parent.child({ job: job.id, kind: job.kind, attempt: job.attempts }));
  }
}

export class WorkerPool {
  private readonly running = new Map<string, Running>();
  /** Claimed ahead, waiting for a slot (see the top of the file). */
  private readonly ahead: Array<{ job: ClaimedJob; claimedAt: number }> = [];
  /** Moving average (ms) of a claim's round trip. */
  private claimMs = 0;
  /** Jobs finished so far, and the completion-rate window: its start (ms), the count at
   *  its start, and the previous window's count and span (see finishRate). */
  private finished = 0;
  private rateAt = performance.now();
  private rateBase = 0;
  private prevFinished = 0;
  private prevSpan = 0;
  private backlog = false;
  private readonly settling = new Map<string, { job: ClaimedJob; claimedAt: number; startedAt: number; error?: string }>();
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly settler: Settler;
  private readonly heartbeat: Heartbeat;
  private claiming = false;
  private claimAgain = false;
  private stopping = false;
  private started = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private pollDelay: number;
  private push = false;
  private claimErrorSince: number | null = null;
  lastClaimError: string | null = null;
  /** Highest number of handlers ever in flight at once (checked by tests). */
  peakInFlight = 0;
  /** Most jobs ever held claimed ahead, not yet started (checked by tests). */
  peakAhead = 0;
  claimed = 0;

  constructor(private readonly o: PoolOptions) {
    this.limit = pLimit(o.concurrency);
    this.pollDelay = this.minPoll;
    this.settler = new Settler({
      store: o.store, log: o.log, workerId: o.workerId,
      onSettled: (id, { status }) => this.onSettled(id, status),
    });
    this.heartbeat = new Heartbeat({
      store: o.store, log: o.log, workerId: o.workerId,
      concurrency: o.concurrency, leaseSeconds: o.leaseSeconds,
      meta: { host: hostname(), pid: process.pid, kinds: o.registry.names() },
      inFlight: () => this.running.size,
      held: () => {
        const held = new Map<string, number>();
        for (const a of this.ahead) held.set(a.job.id, a.claimedAt);
        for (const [id, r] of this.running) if (!r.abandoned) held.set(id, r.claimedAt);
        for (const [id, s] of this.settling) held.set(id, s.claimedAt);
        return held;
      },
      settling: (id) => this.settling.has(id),
      onLost: (ids) => this.onLeaseLost(ids),
      onCanceled: (ids) => this.onCanceled(ids),
    });
  }

  private get minPoll() {
    return this.push ? this.o.pollIntervalMs : Math.max(10, Math.round(this.o.pollIntervalMs / 10));
  }

  get inFlight() { return this.running.size; }
  get concurrency() { return this.o.concurrency; }
  get isStopping() { return this.stopping; }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.push = await this.o.store.onWake(() => this.kick());
    this.pollDelay = this.minPoll;
    await this.heartbeat.beat(); // register in `workers` before the first claim
    this.heartbeat.start();
    this.o.log.info({ concurrency: this.o.concurrency, leaseSeconds: this.o.leaseSeconds,
      wakeups: this.push ? 'LISTEN/NOTIFY' : `polling ${this.minPoll}-${this.o.pollIntervalMs} ms` }, 'worker pool started');
    this.kick();
  }

  /** Healthy while claims and heartbeats reach the database. */
  health(): { ok: boolean; reason?: string } {
    if (this.stopping) return { ok: false, reason: 'shutting down' };
    if (this.claimErrorSince && Date.now() - this.claimErrorSince > 5_000)
      return { ok: false, reason: `cannot claim jobs: ${this.lastClaimError}` };
    const hb = this.heartbeat;
    if (this.started && hb.lastError && Date.now() - hb.lastOkAt > this.o.leaseSeconds * 1000)
      return { ok: false, reason: `heartbeat failing: ${hb.lastError}` };
    return { ok: true };
  }

  /** Ask for a claim soon. Calls in the same tick collapse into one claim. */
  kick(): void {
    if (this.stopping || !this.started) return;
    if (this.claiming) { this.claimAgain = true; return; }
    this.claiming = true;
    setImmediate(() => void this.claimLoop());
  }

  private schedulePoll(ms: number) {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => { this.pollTimer = null; this.kick(); }, ms);
    this.pollTimer.unref();
  }

  /**
   * Jobs finished per ms recently: two back-to-back windows, each at least four claim round
   * trips (and RATE_WINDOW_MS) long, rolled when read. Short enough to follow a drain that
   * speeds up within tens of ms; long enough that what it predicts for two round trips is
   * at most half of what actually finished in the window, so a handful of quick finishes
   * cannot make a pool hold many long jobs.
   */
  private finishRate(now: number): number {
    const window = Math.max(RATE_WINDOW_MS, 4 * this.claimMs);
    const age = now - this.rateAt;
    if (age >= window) {
      this.prevFinished = this.finished - this.rateBase;
      this.prevSpan = age;
      this.rateAt = now;
      this.rateBase = this.finished;
    }
    const span = this.prevSpan + (now - this.rateAt);
    return (this.prevFinished + this.finished - this.rateBase) / Math.max(span, window);
  }

  /**
   * How many jobs to ask for: the free slots, plus, while the last claim came back full,
   * what this pool will start during the next AHEAD_ROUND_TRIPS claim round trips
   * (measured finishes × round trip, at most maxAhead). Minus what is held already.
   */
  private get wanted(): number {
    const c = this.o.concurrency;
    const free = c - this.running.size;
    const max = this.o.maxAhead ?? 8 * c;
    let want = free;
    if (this.backlog && max > 0) want += Math.min(max, Math.floor(this.finishRate(performance.now()) * this.claimMs * AHEAD_ROUND_TRIPS));
    return want - this.ahead.length;
  }

  /** Start held jobs while slots are free. */
  private fill() {
    while (this.ahead.length > 0 && this.running.size < this.o.concurrency && !this.stopping) {
      const a = this.ahead.shift()!;
      this.run(a.job, a.claimedAt);
    }
  }

  private async claimLoop(): Promise<void> {
    try {
      for (;;) {
        this.claimAgain = false;
        const want = this.wanted;
        if (this.stopping || want <= 0) return;
        let jobs: ClaimedJob[];
        try {
          const t0 = performance.now();
          jobs = await this.o.store.claim(this.o.workerId, want, this.o.leaseSeconds);
          this.claimMs = this.claimMs ? this.claimMs * 0.8 + (performance.now() - t0) * 0.2 : performance.now() - t0;
          this.claimErrorSince = null;
          this.lastClaimError = null;
        } catch (err) {
          this.claimErrorSince ??= Date.now();
          this.lastClaimError = scrub((err as Error).message);
          this.pollDelay = Math.min(5_000, Math.max(250, this.pollDelay * 2));
          this.o.log.warn({ err: this.lastClaimError, retryInMs: this.pollDelay }, 'claim failed; backing off');
          this.schedulePoll(this.pollDelay);
          return;
        }
        this.claimed += jobs.length;
        this.backlog = jobs.length >= want;
        const now = Date.now();
        for (const job of jobs) this.ahead.push({ job, claimedAt: now });
        this.fill();
        if (this.ahead.length > this.peakAhead) this.peakAhead = this.ahead.length;
        if (jobs.length < want) {
          // Queue drained (for now): wait for a wake-up, a free slot, or the poll timer.
          this.pollDelay = jobs.length > 0 ? this.minPoll : Math.min(this.o.pollIntervalMs, this.pollDelay * 2);
          this.schedulePoll(this.pollDelay);
          if (!this.claimAgain) return;
        } else {
          this.pollDelay = this.minPoll;
        }
      }
    } finally {
      this.claiming = false;
      if (this.claimAgain && !this.stopping) this.kick();
    }
  }

  private run(job: ClaimedJob, claimedAt: number) {
    const r: Running = { job, claimedAt, startedAt: Date.now(), abandoned: false };
    this.running.set(job.id, r);
    if (this.running.size > this.peakInFlight) this.peakInFlight = this.running.size;
    void this.limit(this.runOne, r);
  }

  // One bound function for every job (no closures per job: the hot path of a pool
  // running thousands of short jobs a second).
  private readonly runOne = async (r: Running): Promise<void> => {
    try {
      await this.execute(r);
    } finally {
      clearTimeout(r.timer);
      r.interrupt = undefined;
      this.running.delete(r.job.id);
      this.finished++;
      this.fill(); // a slot is free
      this.kick();
    }
  };

  private policyOf(kind: string): RetryPolicy {
    const p = this.o.registry.get(kind)?.policy ?? 'standard';
    return typeof p === 'string' ? POLICIES[p] : p;
  }

  private async execute(r: Running): Promise<void> {
    const { job } = r;
    const ctx = new JobCtx(r, this.o.log);
    const kind = this.o.registry.get(job.kind);
    r.startedAt = Date.now();
    this.o.hooks?.onStart?.(job);
    try {
      if (!kind) {
        // Not permanent: during a rolling deploy a newer instance may know this kind.
        throw new Error(`unknown job kind "${job.kind}" (this instance handles: ${this.o.registry.names().join(', ')})`);
      }
      const parsed = kind.payload.safeParse(job.payload);
      if (!parsed.success) throw new PermanentError(`invalid payload for ${job.kind}: ${z.prettifyError(parsed.error)}`);
      r.timer = setTimeout(onTimeout, kind.timeoutMs, r, kind.timeoutMs);
      if (this.o.log.isLevelEnabled('debug')) ctx.log.debug('job started');
      const result = await raceInterrupt(r, kind.handle(parsed.data, ctx));
      if (r.abandoned) return this.abandoned(r);
      this.settling.set(job.id, { job, claimedAt: r.claimedAt, startedAt: r.startedAt });
      this.settler.complete({ id: job.id, attempt: job.attempts, result });
    } catch (thrown) {
      if (r.abandoned) return this.abandoned(r);
      const err = r.stopReason ?? thrown;
      const message = scrub(err instanceof Error ? `${err.name === 'Error' ? '' : err.name + ': '}${err.message}` : String(err));
      const retryInMs = retryDelayFor(err, this.policyOf(job.kind), job.attempts);
      ctx.log[retryInMs === null || job.attempts >= job.maxAttempts ? 'error' : 'warn']({ err: message, retryInMs }, 'job failed');
      this.settling.set(job.id, { job, claimedAt: r.claimedAt, startedAt: r.startedAt, error: message });
      this.settler.fail({ id: job.id, attempt: job.attempts, error: message, retryInMs });
    }
  }

  /** A job whose outcome is not ours to record; a canceled one still ends in the metrics. */
  private abandoned(r: Running) {
    if (r.stopReason instanceof JobCanceledError) {
      this.o.log.info({ job: r.job.id, kind: r.job.kind }, 'job canceled');
      this.o.hooks?.onSettled?.(r.job, 'canceled', (Date.now() - r.startedAt) / 1000);
    }
  }

  private onSettled(id: string, status: JobStatus | 'lost') {
    const s = this.settling.get(id);
    if (!s) return;
    this.settling.delete(id);
    const seconds = (Date.now() - s.startedAt) / 1000;
    if (status === 'lost') this.o.log.warn({ job: id, kind: s.job.kind }, 'outcome not recorded: lease was lost');
    this.o.hooks?.onSettled?.(s.job, status, seconds, s.error);
  }

  private onLeaseLost(ids: string[]) {
    for (const id of ids) {
      const held = this.ahead.findIndex((a) => a.job.id === id);
      if (held >= 0) this.ahead.splice(held, 1);
      const r = this.running.get(id);
      if (r) { r.abandoned = true; interrupt(r, new LeaseLostError()); }
      if (this.settling.has(id)) { this.settler.drop(id); this.onSettled(id, 'lost'); }
    }
    this.o.log.warn({ jobs: ids }, 'leases lost; abandoned those jobs');
  }

  /** Jobs canceled while held: the row says 'canceled' already, so nothing is recorded. */
  private onCanceled(ids: string[]) {
    for (const id of ids) {
      const held = this.ahead.findIndex((a) => a.job.id === id);
      if (held >= 0) this.ahead.splice(held, 1);
      const r = this.running.get(id);
      if (r && !r.abandoned) { r.abandoned = true; interrupt(r, new JobCanceledError()); }
      if (this.settling.has(id)) { this.settler.drop(id); this.onSettled(id, 'canceled'); }
    }
    this.o.log.info({ jobs: ids }, 'jobs canceled; their work was aborted');
  }

  /**
   * Graceful stop: claim nothing more, give running jobs until the deadline, hand the
   * rest back without spending an attempt, record every outcome, deregister.
   */
  async stop(graceMs: number): Promise<{ finished: number; released: number }> {
    if (this.stopping) return { finished: 0, released: 0 };
    this.stopping = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    // A claim on its way lands its jobs in the held list: wait for it.
    for (const end = Date.now() + 10_000; this.claiming && Date.now() < end;) await sleep(5);
    // Held jobs never started: back to the queue at once, for any instance to take.
    const held = this.ahead.splice(0).map((a) => a.job.id);
    let released = 0;
    if (held.length) {
      try {
        released += await this.o.store.release(this.o.workerId, held);
      } catch (err) {
        this.o.log.error({ err: scrub((err as Error).message) }, 'could not hand held jobs back; their leases will expire');
      }
    }
    const before = this.running.size;
    const deadline = Date.now() + graceMs;
    while (this.running.size > 0 && Date.now() < deadline) await sleep(Math.min(50, deadline - Date.now()));
    const left = [...this.running.values()].filter((r) => !r.abandoned);
    if (left.length) {
      for (const r of left) r.abandoned = true;
      try {
        released += await this.o.store.release(this.o.workerId, left.map((r) => r.job.id));
      } catch (err) {
        this.o.log.error({ err: scrub((err as Error).message) }, 'could not hand jobs back; their leases will expire');
      }
      for (const r of left) interrupt(r, new ShutdownError());
    }
    // Outcomes of finished jobs must reach the database before we go.
    for (let i = 0; i < 20 && this.settler.size > 0; i++) {
      await this.settler.flush();
      if (this.settler.size > 0) await sleep(250);
    }
    this.settler.stop();
    this.heartbeat.stop();
    await this.o.store.leave(this.o.workerId).catch(() => {});
    const result = { finished: before - left.length, released };
    this.o.log.info(result, 'worker pool stopped');
    return result;
  }
}

/** Shortest half of the completion-rate window (ms). */
const RATE_WINDOW_MS = 25;
/**
 * Round trips' worth of work held ahead. A claim leaves when the held work runs low and
 * lands a round trip later; with one round trip's worth a no-op drain waited on most claims
 * (neurocards-only drains, alternating, same box: old sizing median 20,000 jobs/s, one round
 * trip 15,100, two 19,200). Two keep that and still hold nothing for jobs much longer than a
 * claim (10 s jobs at 20/s and a 5 ms claim: 0.2 jobs).
 */
const AHEAD_ROUND_TRIPS = 2;

const sleep = (ms: number) => new Promise((res) => setTimeout(res, Math.max(0, ms)));
