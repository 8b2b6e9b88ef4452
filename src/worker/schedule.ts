// Periodic jobs (maintenance) as ordinary queue jobs. Every instance runs a Scheduler:
// on start and at each period boundary it enqueues the current period's job of each
// schedule under the idempotency key `schedule:<kind>:<period start ISO>`. enqueue()
// inserts a key at most once (the second instance gets the existing job back), so a
// period fires once whatever the number of instances, with no leader and no extra
// table; the job then takes the normal claim/complete/fail path: lease, fencing,
// retries with the kind's policy, metrics, the dashboard.
//
// Periods are aligned to the Unix epoch, so instances agree without talking (clock skew
// only moves when in the period the job is enqueued). Only the CURRENT period is ever
// enqueued: a period in which no instance ran is skipped (maintenance catches up on its
// next run), and a past period whose job retention pruned cannot fire again. The
// current period's key must outlive the period itself, so a period stays well below
// the shortest retention of finished jobs (24 h for succeeded ones): MAX_PERIOD_MS.
// A retry still running when the next period fires runs beside it; maintenance jobs
// are written to allow that (bounded SKIP LOCKED batches).
import { z } from 'zod';
import type { Store } from '../db/store.ts';
import type { Logger } from '../log.ts';
import { scrub } from '../log.ts';
import { defineJob, type JobContext, type JobKind } from './registry.ts';
import type { PolicyName, RetryPolicy } from './retry.ts';

export const MAX_PERIOD_MS = 12 * 3_600_000;

export const periodPayload = z.object({ period: z.iso.datetime() }).strict();
export type PeriodPayload = z.infer<typeof periodPayload>;

/** A job kind that the Scheduler enqueues once per period. */
export interface PeriodicJob extends JobKind<PeriodPayload> {
  /** 0: registered (it runs when enqueued) but not scheduled by this instance. */
  everyMs: number;
  maxAttempts: number;
}

export function definePeriodicJob(o: {
  kind: string;
  everyMs: number;
  run(period: Date, ctx: JobContext): Promise<unknown>;
  policy?: PolicyName | RetryPolicy;
  timeoutMs?: number;
  maxAttempts?: number;
}): PeriodicJob {
  if (!Number.isInteger(o.everyMs) || (o.everyMs !== 0 && (o.everyMs < 1_000 || o.everyMs > MAX_PERIOD_MS)))
    throw new Error(`${o.kind}: period must be 0 (off) or 1 s to ${MAX_PERIOD_MS / 3_600_000} h, got ${o.everyMs} ms`);
  return {
    ...defineJob({
      kind: o.kind,
      payload: periodPayload,
      policy: o.policy ?? 'fast',
      timeoutMs: o.timeoutMs ?? 120_000,
      handle: ({ period }, ctx) => o.run(new Date(period), ctx),
    }),
    everyMs: o.everyMs,
    maxAttempts: o.maxAttempts ?? 3,
  };
}

/** Job kinds the Scheduler should enqueue: periodic ones with a period set. */
export const isPeriodic = (k: JobKind<any>): k is PeriodicJob => ((k as PeriodicJob).everyMs ?? 0) > 0;

export const periodStart = (now: number, everyMs: number) => Math.floor(now / everyMs) * everyMs;
export const scheduleKey = (kind: string, start: number) => `schedule:${kind}:${new Date(start).toISOString()}`;

export interface ScheduleStatus {
  kind: string;
  everyMs: number;
  /** Start of the last period this instance enqueued (or found enqueued), and its job. */
  period: string | null;
  jobId: string | null;
  nextAt: string;
}

export interface SchedulerOptions {
  store: Pick<Store, 'enqueue'>;
  schedules: PeriodicJob[];
  log: Logger;
  /** Wait before trying again after a failed enqueue (database away). */
  retryMs?: number;
  now?: () => number;
}

export class Scheduler {
  private readonly last = new Map<string, { start: number; jobId: string }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly o: SchedulerOptions) {
    this.now = o.now ?? Date.now;
    const kinds = new Set<string>();
    for (const s of o.schedules) {
      if (kinds.has(s.kind)) throw new Error(`schedule ${s.kind} given twice`);
      if (!(s.everyMs > 0)) throw new Error(`schedule ${s.kind} has no period`);
      kinds.add(s.kind);
    }
  }

  /** Enqueues the current periods (once the database answers) and keeps doing so at each boundary. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One round: enqueue every schedule whose current period this instance has not seen yet. */
  tick(): Promise<void> {
    return (this.running ??= this.round().finally(() => { this.running = null; }));
  }

  status(): ScheduleStatus[] {
    const now = this.now();
    return this.o.schedules.map((s) => {
      const l = this.last.get(s.kind);
      return {
        kind: s.kind, everyMs: s.everyMs,
        period: l ? new Date(l.start).toISOString() : null, jobId: l?.jobId ?? null,
        nextAt: new Date(periodStart(now, s.everyMs) + s.everyMs).toISOString(),
      };
    });
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    const now = this.now();
    const due = this.o.schedules
      .map((s) => ({ s, start: periodStart(now, s.everyMs) }))
      .filter(({ s, start }) => this.last.get(s.kind)?.start !== start);
    let failed = false;
    if (due.length) {
      try {
        const jobs = await this.o.store.enqueue(due.map(({ s, start }) => ({
          kind: s.kind, payload: { period: new Date(start).toISOString() } satisfies PeriodPayload,
          maxAttempts: s.maxAttempts, idempotencyKey: scheduleKey(s.kind, start),
        })));
        const byKey = new Map(jobs.map((j) => [j.idempotencyKey, j.id]));
        for (const { s, start } of due) {
          const jobId = byKey.get(scheduleKey(s.kind, start));
          if (jobId) this.last.set(s.kind, { start, jobId });
        }
      } catch (err) {
        failed = true;
        this.o.log.warn({ err: scrub(String((err as Error)?.message ?? err)), kinds: due.map((d) => d.s.kind) },
          'scheduled jobs not enqueued yet; trying again');
      }
    }
    this.arm(failed);
  }

  private arm(retrySoon: boolean) {
    if (this.stopped || this.o.schedules.length === 0) return;
    const now = this.now();
    const next = Math.min(...this.o.schedules.map((s) => periodStart(now, s.everyMs) + s.everyMs));
    // +1 ms: a timer may fire a hair before the wall clock reaches the boundary
    let wait = next - now + 1;
    if (retrySoon) wait = Math.min(wait, this.o.retryMs ?? 5_000);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => { void this.tick(); }, Math.max(0, wait));
    this.timer.unref();
  }
}
