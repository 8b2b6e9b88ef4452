// The Store port: every queue operation the app needs. One implementation over the RPC
// layer (queue.ts); postgres.ts adds LISTEN and the hand-tuned hot path, supabase.ts the
// in-process wake-up. Every call is a SQL function of src/db/rpc/catalog.ts.

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'dead' | 'canceled';

export interface Job {
  id: string; // bigint in Postgres; a string here so no precision is ever lost
  kind: string;
  payload: unknown; // untrusted until the job kind's schema parses it
  status: JobStatus;
  priority: number;
  runAt: Date;
  attempts: number;
  maxAttempts: number;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  lastError: string | null;
  idempotencyKey: string | null;
  fairKey: string | null;
  result: unknown;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/**
 * A job as claim() hands it to the worker: what running it needs, and no more. Every
 * column costs on both sides per job (Postgres formats it, the client parses it; a
 * timestamp is the dearest), and a pool claims thousands a second. getJob() gives the
 * whole row.
 */
export type ClaimedJob = Pick<Job,
  'id' | 'kind' | 'payload' | 'status' | 'priority' | 'attempts' | 'maxAttempts' | 'fairKey' |
  'idempotencyKey' | 'leaseOwner' | 'leaseExpiresAt' | 'lastError'>;

/** The columns behind ClaimedJob, for the adapters' select lists. */
export const CLAIMED_COLUMNS = ['id', 'kind', 'payload', 'status', 'priority', 'attempts', 'max_attempts', 'fair_key',
  'idempotency_key', 'lease_owner', 'lease_expires_at', 'last_error'] as const;

export type ClaimedRow = Pick<JobRow, (typeof CLAIMED_COLUMNS)[number]>;

export function claimedFromRow(r: ClaimedRow): ClaimedJob {
  return {
    id: String(r.id),
    kind: r.kind,
    payload: r.payload,
    status: r.status,
    priority: r.priority,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    fairKey: r.fair_key,
    idempotencyKey: r.idempotency_key,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: toDateOrNull(r.lease_expires_at),
    lastError: r.last_error,
  };
}

export interface NewJob {
  kind: string;
  payload?: unknown;
  priority?: number;
  runAt?: Date;
  maxAttempts?: number;
  idempotencyKey?: string;
  /** Jobs sharing a fair key (a user) are interleaved with everyone else's. */
  fairKey?: string;
}

export interface Completion {
  id: string;
  attempt: number;
  result?: unknown;
}

export interface Failure {
  id: string;
  attempt: number;
  error: string;
  /** null: permanent, go to dead now. Otherwise retry after this many ms (if attempts remain). */
  retryInMs: number | null;
}

/** Of the ids a heartbeat named: those still owned (leases extended), and those canceled meanwhile. */
export interface HeartbeatAnswer { owned: string[]; canceled: string[] }

export interface WorkerBeat {
  workerId: string;
  concurrency: number;
  inFlight: number;
  leaseSeconds: number;
  meta?: Record<string, unknown>;
  /** Jobs whose leases to extend: those this process still works on or has yet to settle. */
  ids: string[];
}

export interface InstanceStats {
  id: string;
  concurrency: number;
  inFlight: number;
  lastHeartbeatAt: string;
  startedAt: string;
}

export interface QueueStats {
  queued: number;
  scheduled: number;
  running: number;
  dead: number;
  expiredLeases: number;
  oldestQueuedSeconds: number;
  instances: InstanceStats[];
  last24h: {
    succeeded: number;
    failed: number;
    avgSeconds: number | null;
    p95Seconds: number | null;
    lastMinute: number;
  };
  at: string;
}

/** `failed`: queued again after a failed attempt (retrying). */
export type JobListStatus = JobStatus | 'failed';

export interface JobListQuery {
  status: JobListStatus;
  kind?: string;
  /** 1..1000, default 20. */
  limit?: number;
}

/** One minute of the last hour, for the dashboard chart. */
export interface HistoryPoint {
  minute: string;
  succeeded: number;
  failed: number;
}

/** One row of job_history() as either transport returns it. */
export interface HistoryRowRaw { minute: string | Date; succeeded: number | string; failed: number | string }

export interface Store {
  readonly mode: 'direct' | 'rpc';
  enqueue(jobs: NewJob[]): Promise<Job[]>;
  /** Claims up to `limit` runnable jobs (queued and due, or running with a lapsed lease). */
  claim(workerId: string, limit: number, leaseSeconds: number): Promise<ClaimedJob[]>;
  /** Returns the ids actually completed (fenced by lease owner and attempt). */
  complete(workerId: string, done: Completion[]): Promise<string[]>;
  /** Returns the new status, or null when the lease was lost (row not touched). */
  fail(workerId: string, failure: Failure): Promise<{ status: JobStatus; runAt: Date } | null>;
  release(workerId: string, ids: string[]): Promise<number>;
  /** Refreshes the worker row and the leases of `ids`; returns those it still owns. */
  heartbeat(beat: WorkerBeat): Promise<HeartbeatAnswer>;
  leave(workerId: string): Promise<void>;
  stats(): Promise<QueueStats>;
  getJob(id: string): Promise<Job | null>;
  retryJob(id: string): Promise<Job | null>;
  requeueDead(kind?: string): Promise<number>;
  cancelJob(id: string): Promise<Job | null>;
  prune(opts?: { succeededHours?: number; failedDays?: number }): Promise<number>;
  /** Newest migration version applied to the database, or null when none. */
  schemaVersion(): Promise<string | null>;
  /**
   * Subscribe to enqueue wake-ups. Direct mode LISTENs; RPC mode has no push
   * channel and returns false, telling the pool to poll.
   */
  onWake(listener: () => void): Promise<boolean>;
  /** Cheap round trip used by health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;

  // Operations (issue 7): dashboard and `neurocards jobs`.
  /** Newest jobs in one state (finished first by finish time), through the partial indexes. */
  listJobs(q: JobListQuery): Promise<Job[]>;
  /** Per-minute succeeded and dead over the last `minutes` (default 60), oldest first, zeros included. */
  history(minutes?: number): Promise<HistoryPoint[]>;
}

/** Row shape as Postgres/PostgREST return it (snake_case). */
export interface JobRow {
  id: string | number;
  kind: string;
  payload: unknown;
  status: JobStatus;
  priority: number;
  run_at: string | Date;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_expires_at: string | Date | null;
  last_error: string | null;
  idempotency_key: string | null;
  fair_key: string | null;
  result: unknown;
  created_at: string | Date;
  started_at: string | Date | null;
  finished_at: string | Date | null;
}

const toDate = (v: string | Date) => (v instanceof Date ? v : new Date(v));
const toDateOrNull = (v: string | Date | null) => (v == null ? null : toDate(v));

export function heartbeatAnswer(rows: { id: string | number; canceled: boolean }[]): HeartbeatAnswer {
  const a: HeartbeatAnswer = { owned: [], canceled: [] };
  for (const r of rows) (r.canceled ? a.canceled : a.owned).push(String(r.id));
  return a;
}

export function jobFromRow(r: JobRow): Job {
  return {
    ...claimedFromRow(r),
    runAt: toDate(r.run_at),
    result: r.result,
    createdAt: toDate(r.created_at),
    startedAt: toDateOrNull(r.started_at),
    finishedAt: toDateOrNull(r.finished_at),
  };
}

export function newJobToJson(j: NewJob) {
  return {
    kind: j.kind,
    payload: j.payload ?? {},
    priority: j.priority,
    run_at: j.runAt?.toISOString(),
    max_attempts: j.maxAttempts,
    idempotency_key: j.idempotencyKey,
    fair_key: j.fairKey,
  };
}
