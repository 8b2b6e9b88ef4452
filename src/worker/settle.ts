// Records job outcomes. Completions are batched: every completion that arrives within
// BATCH_DELAY_MS, or while the previous statement is on its way, goes to the database in
// one complete() call (graphile-worker's trick).
// A database error keeps them and retries with backoff: an outcome is never dropped
// while this process lives, and while it is pending the job's lease is still renewed.
import type { Completion, Failure, JobStatus, Store } from '../db/store.ts';
import type { Logger } from '../log.ts';

export interface SettleDeps {
  store: Store;
  log: Logger;
  workerId: string;
  onSettled(id: string, outcome: { status: JobStatus | 'lost' }): void;
}

const MAX_BATCH = 500;
// An outcome waits up to this long for others to share its statement (graphile-worker's
// completeJobBatchDelay). At 10,000 jobs/s, 5 ms turns two statements per claim into one
// per two claims: ~20% more throughput on a 2-core box, for a job recorded 5 ms later.
// (It was taken out once because the chaos run showed unexplained duplicate deliveries
// with it; their cause turned out to be postgres.js' reconnect backoff, see createSql(),
// and they happened without it too.)
const BATCH_DELAY_MS = 5;
// Normally one statement at a time, so that what finishes meanwhile goes out together:
// every statement has a fixed cost (a round trip, a commit, over RPC an HTTP request).
// A backlog (BACKLOG outcomes waiting) gets a second statement in flight, so it drains on
// two backends (two cores) and one batch's fsync overlaps the next.
const MAX_IN_FLIGHT = 2;
const BACKLOG = MAX_BATCH / 4;

export class Settler {
  private completions = new Map<string, Completion>();
  private failures = new Map<string, Failure>();
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();
  private retryMs = 0;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly d: SettleDeps) {}

  get pendingIds(): string[] {
    return [...this.completions.keys(), ...this.failures.keys()];
  }

  get size() {
    return this.completions.size + this.failures.size;
  }

  complete(c: Completion) {
    this.completions.set(c.id, c);
    this.schedule();
  }

  fail(f: Failure) {
    this.failures.set(f.id, f);
    this.schedule();
  }

  /** Forget a job whose lease we lost: its outcome is no longer ours to record. */
  drop(id: string) {
    this.completions.delete(id);
    this.failures.delete(id);
  }

  private schedule() {
    if (this.scheduled || this.retryTimer) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      void this.flush();
    }, BATCH_DELAY_MS);
  }

  /** Sends everything pending; resolves when the database has acknowledged it (or refused). */
  async flush(): Promise<void> {
    while (this.inFlight.size >= MAX_IN_FLIGHT || (this.inFlight.size > 0 && this.size < BACKLOG)) {
      if (this.size === 0) break;
      await Promise.race(this.inFlight);
    }
    if (this.size === 0) {
      await Promise.all(this.inFlight);
      return;
    }
    // Bounded batches: one statement per tick, but never an unbounded one (a slow
    // database lets thousands pile up; the rest go in the next round at once).
    const done: Completion[] = [];
    for (const c of this.completions.values()) { if (done.length >= MAX_BATCH) break; done.push(c); }
    for (const c of done) this.completions.delete(c.id);
    const failed = [...this.failures.values()];
    this.failures.clear();
    const sending: Promise<void> = this.send(done, failed).finally(() => { this.inFlight.delete(sending); });
    this.inFlight.add(sending);
    await sending;
    if (this.completions.size > 0 && !this.retryTimer) this.schedule();
  }

  private async send(done: Completion[], failed: Failure[]) {
    const { store, workerId } = this.d;
    const work: Promise<unknown>[] = [];
    if (done.length) {
      work.push(store.complete(workerId, done).then((ids) => {
        const ok = new Set(ids);
        for (const c of done) this.d.onSettled(c.id, { status: ok.has(c.id) ? 'succeeded' : 'lost' });
      }, (err) => { for (const c of done) if (!this.completions.has(c.id)) this.completions.set(c.id, c); throw err; }));
    }
    for (const f of failed) {
      work.push(store.fail(workerId, f).then((r) => this.d.onSettled(f.id, { status: r ? r.status : 'lost' }),
        (err) => { if (!this.failures.has(f.id)) this.failures.set(f.id, f); throw err; }));
    }
    const results = await Promise.allSettled(work);
    const errors = results.filter((r) => r.status === 'rejected');
    if (errors.length) {
      this.retryMs = Math.min(5_000, this.retryMs ? this.retryMs * 2 : 200);
      this.d.log.warn({ err: String((errors[0] as PromiseRejectedResult).reason?.message ?? errors[0]), retryInMs: this.retryMs },
        'recording job outcomes failed; will retry');
      if (!this.retryTimer) {
        this.retryTimer = setTimeout(() => { this.retryTimer = null; void this.flush(); }, this.retryMs);
        this.retryTimer.unref();
      }
    } else {
      this.retryMs = 0;
    }
  }

  stop() {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
