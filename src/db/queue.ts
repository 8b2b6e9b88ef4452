// The queue store: every Store operation as one catalog call over the RPC layer. The
// transports' stores (postgres.ts, supabase.ts) add what only they can do: LISTEN and a
// hand-tuned hot path over a direct connection; an in-process wake-up over HTTP.
import type { Rpc } from './rpc/index.ts';
import {
  CLAIMED_COLUMNS, claimedFromRow, heartbeatAnswer, jobFromRow, newJobToJson, type HeartbeatAnswer,
  type ClaimedJob, type ClaimedRow, type Completion, type Failure, type HistoryPoint, type Job, type JobListQuery, type JobRow,
  type NewJob, type QueueStats, type Store, type WorkerBeat,
} from './store.ts';

const toDate = (v: string | Date) => (v instanceof Date ? v : new Date(v));

export abstract class QueueStore implements Store {
  constructor(readonly rpc: Rpc) {}
  get mode() { return this.rpc.mode; }

  abstract onWake(listener: () => void): Promise<boolean>;
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;

  async enqueue(jobs: NewJob[]): Promise<Job[]> {
    if (jobs.length === 0) return [];
    const rows = await this.rpc.call('enqueue', { p_jobs: jobs.map(newJobToJson) });
    return rows.map(jobFromRow);
  }

  async claim(workerId: string, limit: number, leaseSeconds: number): Promise<ClaimedJob[]> {
    if (limit <= 0) return [];
    // Only the columns a worker needs (see ClaimedJob).
    const rows = await this.rpc.call('claim', { p_worker: workerId, p_limit: limit, p_lease_seconds: leaseSeconds }, { columns: CLAIMED_COLUMNS });
    return (rows as ClaimedRow[]).map(claimedFromRow);
  }

  async complete(workerId: string, done: Completion[]): Promise<string[]> {
    if (done.length === 0) return [];
    const hasResults = done.some((d) => d.result !== undefined);
    const ids = await this.rpc.call('complete', {
      p_worker: workerId, p_ids: done.map((d) => d.id), p_attempts: done.map((d) => d.attempt),
      p_results: hasResults ? done.map((d) => d.result ?? null) : null,
    });
    return ids.map(String);
  }

  async fail(workerId: string, f: Failure) {
    const rows = await this.rpc.call('fail', {
      p_worker: workerId, p_id: f.id, p_attempt: f.attempt, p_error: f.error, p_retry_in_ms: f.retryInMs,
    });
    return rows[0] ? { status: rows[0].status, runAt: toDate(rows[0].run_at) } : null;
  }

  async release(workerId: string, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.rpc.call('release', { p_worker: workerId, p_ids: ids });
  }

  async heartbeat(b: WorkerBeat): Promise<HeartbeatAnswer> {
    const rows = await this.rpc.call('heartbeat', {
      p_worker: b.workerId, p_concurrency: b.concurrency, p_in_flight: b.inFlight,
      p_lease_seconds: b.leaseSeconds, p_meta: b.meta ?? {}, p_ids: b.ids,
    });
    return heartbeatAnswer(rows);
  }

  async leave(workerId: string): Promise<void> {
    await this.rpc.call('worker_leave', { p_worker: workerId });
  }

  stats(): Promise<QueueStats> {
    return this.rpc.call('stats', {});
  }

  private static one(rows: JobRow[]) {
    return rows[0] ? jobFromRow(rows[0]) : null;
  }

  async getJob(id: string) { return QueueStore.one(await this.rpc.call('get_job', { p_id: id })); }
  async retryJob(id: string) { return QueueStore.one(await this.rpc.call('retry_job', { p_id: id })); }
  async cancelJob(id: string) { return QueueStore.one(await this.rpc.call('cancel_job', { p_id: id })); }

  requeueDead(kind?: string): Promise<number> {
    return this.rpc.call('requeue_dead', { p_kind: kind ?? null });
  }

  prune(o: { succeededHours?: number; failedDays?: number } = {}): Promise<number> {
    return this.rpc.call('prune', { p_succeeded_hours: o.succeededHours ?? 24, p_failed_days: o.failedDays ?? 7 });
  }

  schemaVersion(): Promise<string | null> {
    return this.rpc.call('schema_version', {});
  }

  // Operations (issue 7)
  async listJobs(q: JobListQuery): Promise<Job[]> {
    const rows = await this.rpc.call('list_jobs', { p_status: q.status, p_kind: q.kind ?? null, p_limit: q.limit ?? 20 });
    return rows.map(jobFromRow);
  }

  async history(minutes = 60): Promise<HistoryPoint[]> {
    const rows = await this.rpc.call('job_history', { p_minutes: minutes });
    return rows.map((r) => ({ minute: toDate(r.minute).toISOString(), succeeded: Number(r.succeeded), failed: Number(r.failed) }));
  }
}
