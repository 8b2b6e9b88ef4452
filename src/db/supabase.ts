// Supabase adapter: the same operations as RPC calls through @supabase/supabase-js.
// PostgREST runs each call as one transaction, which is exactly the unit our SQL
// functions are written for (claim locks and marks its rows in one statement).
import type { SupabaseClient } from '@supabase/supabase-js';
import { createServiceClient } from './supabase-client.ts';
import {
  CLAIMED_COLUMNS, claimedFromRow, jobFromRow, newJobToJson,
  type ClaimedJob, type ClaimedRow, type Completion, type Failure, type Job, type JobRow, type JobStatus, type NewJob,
  type QueueStats, type Store, type WorkerBeat, type JobListQuery, type HistoryPoint,
} from './store.ts';

export class RpcError extends Error {
  constructor(readonly fn: string, readonly code: string, message: string, readonly details?: string | null) {
    super(`${fn}: ${message}${code ? ` (${code})` : ''}`);
    this.name = 'RpcError';
  }
}

export interface SupabaseStoreOptions {
  url: string;
  serviceRoleKey: string;
  fetchTimeoutMs?: number;
}

export class SupabaseStore implements Store {
  readonly mode = 'rpc' as const;
  private readonly client: SupabaseClient;
  /** No push channel over HTTP; an enqueue from this process still wakes its own pool. */
  private readonly localWake = new Set<() => void>();

  constructor(o: SupabaseStoreOptions) {
    this.client = createServiceClient(o);
  }

  private async call<T>(fn: string, args?: Record<string, unknown>, columns?: string): Promise<T> {
    const rpc = this.client.rpc(fn, args ?? {});
    const { data, error } = await (columns ? rpc.select(columns) : rpc);
    if (error) throw new RpcError(fn, error.code ?? '', error.message, error.details);
    return data as T;
  }

  async enqueue(jobs: NewJob[]): Promise<Job[]> {
    if (jobs.length === 0) return [];
    const rows = await this.call<JobRow[]>('enqueue', { p_jobs: jobs.map(newJobToJson) });
    for (const wake of this.localWake) wake();
    return rows.map(jobFromRow);
  }

  async claim(workerId: string, limit: number, leaseSeconds: number): Promise<ClaimedJob[]> {
    if (limit <= 0) return [];
    // ?select= keeps the response to the columns a worker needs (see ClaimedJob).
    const rows = await this.call<ClaimedRow[]>('claim', { p_worker: workerId, p_limit: limit, p_lease_seconds: leaseSeconds },
      CLAIMED_COLUMNS.join(','));
    return rows.map(claimedFromRow);
  }

  async complete(workerId: string, done: Completion[]): Promise<string[]> {
    if (done.length === 0) return [];
    const hasResults = done.some((d) => d.result !== undefined);
    const ids = await this.call<(number | string)[]>('complete', {
      p_worker: workerId,
      p_ids: done.map((d) => Number(d.id)),
      p_attempts: done.map((d) => d.attempt),
      p_results: hasResults ? done.map((d) => d.result ?? null) : null,
    });
    return ids.map(String);
  }

  async fail(workerId: string, f: Failure) {
    const rows = await this.call<{ status: JobStatus; run_at: string }[]>('fail', {
      p_worker: workerId, p_id: Number(f.id), p_attempt: f.attempt, p_error: f.error, p_retry_in_ms: f.retryInMs,
    });
    return rows[0] ? { status: rows[0].status, runAt: new Date(rows[0].run_at) } : null;
  }

  async release(workerId: string, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.call<number>('release', { p_worker: workerId, p_ids: ids.map(Number) });
  }

  async heartbeat(b: WorkerBeat): Promise<string[]> {
    const ids = await this.call<(number | string)[]>('heartbeat', {
      p_worker: b.workerId, p_concurrency: b.concurrency, p_in_flight: b.inFlight,
      p_lease_seconds: b.leaseSeconds, p_meta: b.meta ?? {}, p_ids: b.ids.map(Number),
    });
    return ids.map(String);
  }

  async leave(workerId: string): Promise<void> {
    await this.call('worker_leave', { p_worker: workerId });
  }

  stats(): Promise<QueueStats> {
    return this.call<QueueStats>('stats');
  }

  private async oneJob(fn: string, id: string) {
    const rows = await this.call<JobRow[]>(fn, { p_id: Number(id) });
    return rows[0] ? jobFromRow(rows[0]) : null;
  }

  getJob(id: string) { return this.oneJob('get_job', id); }
  retryJob(id: string) { return this.oneJob('retry_job', id); }
  cancelJob(id: string) { return this.oneJob('cancel_job', id); }

  requeueDead(kind?: string): Promise<number> {
    return this.call<number>('requeue_dead', { p_kind: kind ?? null });
  }

  prune(o: { succeededHours?: number; failedDays?: number } = {}): Promise<number> {
    return this.call<number>('prune', { p_succeeded_hours: o.succeededHours ?? 24, p_failed_days: o.failedDays ?? 7 });
  }

  async schemaVersion(): Promise<string | null> {
    try {
      return await this.call<string | null>('schema_version');
    } catch (err) {
      // PGRST202: the function does not exist yet, i.e. no migrations applied.
      if (err instanceof RpcError && err.code === 'PGRST202') return null;
      throw err;
    }
  }

  async onWake(listener: () => void): Promise<boolean> {
    this.localWake.add(listener);
    return false; // other instances' enqueues are not pushed: the pool also polls, backing off when idle
  }

  async ping(): Promise<void> {
    await this.schemaVersion();
  }

  async close(): Promise<void> {
    await this.client.removeAllChannels();
  }

  // Operations (issue 7)
  async listJobs(q: JobListQuery): Promise<Job[]> {
    const rows = await this.call<JobRow[]>('list_jobs', { p_status: q.status, p_kind: q.kind ?? null, p_limit: q.limit ?? 20 });
    return rows.map(jobFromRow);
  }

  async history(minutes = 60): Promise<HistoryPoint[]> {
    const rows = await this.call<{ minute: string; succeeded: number | string; failed: number | string }[]>('job_history', { p_minutes: minutes });
    return rows.map((r) => ({ minute: new Date(r.minute).toISOString(), succeeded: Number(r.succeeded), failed: Number(r.failed) }));
  }
}
