// One heartbeat per instance: every LEASE_SECONDS/2 a single call refreshes this
// instance's row in `workers` and extends every lease it holds. Jobs the database
// no longer lists as ours were taken over after our lease lapsed (we were paused or
// cut off for longer than a lease): the pool abandons them. Jobs it lists as canceled
// (cancel_job: an order or API card canceled) are aborted the same way: their AbortSignal
// fires, so a provider call in flight is cut off, and no outcome is recorded (the row is
// already 'canceled'; it is never retried).
//
// Beats are LEASE/2 apart from when each was *sent* (never two in flight): timed from the
// answer, a slow round trip (3-25 s seen on a loaded box) was added to every interval and
// let 5 s leases lapse. A job is reported lost only if it is still held when the answer
// comes, held since before the beat was sent, and not being settled: a job that finished
// while the beat was in flight is missing from the answer because it is done, not lost
// (a settle's own answer says whether its lease was lost).
import type { Store } from '../db/store.ts';
import type { Logger } from '../log.ts';

export interface HeartbeatDeps {
  store: Store;
  log: Logger;
  workerId: string;
  concurrency: number;
  leaseSeconds: number;
  meta: Record<string, unknown>;
  inFlight(): number;
  /** Ids this instance believes it holds, each with the time it was claimed. */
  held(): Map<string, number>;
  /** True while the job's complete/fail is on its way (absent: never). */
  settling?(id: string): boolean;
  onLost(ids: string[]): void;
  /** Jobs canceled (cancel_job) while we held them: abort them, record nothing. */
  onCanceled(ids: string[]): void;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  /** Time of the last heartbeat the database acknowledged (0 = never). */
  lastOkAt = 0;
  lastError: string | null = null;

  constructor(private readonly d: HeartbeatDeps) {}

  get intervalMs() {
    return Math.max(500, (this.d.leaseSeconds * 1000) / 2);
  }

  start() {
    void this.beat();
  }

  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stopped = true;
  }

  async beat(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const sentAt = Date.now();
    let next = this.intervalMs;
    try {
      const held = this.d.held();
      const answer = await this.d.store.heartbeat({
        ids: [...held.keys()],
        workerId: this.d.workerId,
        concurrency: this.d.concurrency,
        inFlight: this.d.inFlight(),
        leaseSeconds: this.d.leaseSeconds,
        meta: this.d.meta,
      });
      const owned = new Set(answer.owned);
      const canceled = new Set(answer.canceled);
      this.lastOkAt = Date.now();
      this.lastError = null;
      const lost: string[] = [];
      const stillHeld = this.d.held();
      for (const [id, claimedAt] of held) {
        // A job claimed after this heartbeat was sent cannot be in its answer yet; one
        // settled or settling since may be absent because it is finished.
        if (claimedAt < sentAt && !owned.has(id) && !canceled.has(id) && stillHeld.get(id) === claimedAt && !this.d.settling?.(id)) lost.push(id);
      }
      if (canceled.size) this.d.onCanceled([...canceled]);
      if (lost.length) this.d.onLost(lost);
    } catch (err) {
      this.lastError = (err as Error).message;
      this.d.log.warn({ err: this.lastError }, 'heartbeat failed; retrying');
      next = Math.min(next, 1_000); // try again soon: our leases are running out
    } finally {
      this.running = false;
      if (!this.stopped) {
        if (this.timer) clearTimeout(this.timer);
        // from when this beat was sent: its round trip is not added to the interval
        this.timer = setTimeout(() => void this.beat(), Math.max(0, sentAt + next - Date.now()));
        this.timer.unref();
      }
    }
  }
}
