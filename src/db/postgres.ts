// Direct Postgres adapter (postgres.js). Same SQL functions as the RPC adapter, plus
// LISTEN/NOTIFY so an idle pool wakes within milliseconds of an enqueue.
import postgres from 'postgres';
import {
  CLAIMED_COLUMNS, claimedFromRow, jobFromRow, newJobToJson,
  type ClaimedJob, type ClaimedRow, type Completion, type Failure, type Job, type JobRow, type JobStatus, type NewJob,
  type QueueStats, type Store, type WorkerBeat, type JobListQuery, type HistoryPoint,
} from './store.ts';

export const WAKE_CHANNEL = 'neurocards_jobs';
const CLAIMED_SELECT = CLAIMED_COLUMNS.join(', ');

export interface PostgresStoreOptions {
  url: string;
  poolSize: number;
  /** Off for transaction poolers (pgbouncer/Supavisor :6543), which break prepared statements. */
  prepare: boolean;
  applicationName?: string;
  onError?: (err: unknown) => void;
}

/**
 * Seconds before reconnect attempt n. postgres.js defaults to 3^n/100 s capped at 20 s,
 * with n shared by the whole pool: a 3 s database restart fails enough attempts to park
 * every connection for 7-20 s after the database is back, and every query issued
 * meanwhile (heartbeats, a delivery's commit) waits with it. Leases lapse and other
 * instances take over jobs that are still running here. Capped at 1 s instead, well
 * inside any lease.
 */
const reconnectBackoff = (n: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** n, 1);

export function createSql(o: PostgresStoreOptions) {
  return postgres(o.url, {
    max: o.poolSize,
    prepare: o.prepare,
    onnotice: () => {},
    idle_timeout: 60,
    connect_timeout: 10,
    backoff: reconnectBackoff,
    connection: { application_name: o.applicationName ?? 'neurocards' },
  });
}

export class PostgresStore implements Store {
  readonly mode = 'direct' as const;
  readonly sql: postgres.Sql;
  private unlisten: (() => Promise<void>) | null = null;

  constructor(private readonly opts: PostgresStoreOptions) {
    this.sql = createSql(opts);
  }

  // postgres.js serialises the value itself and tags it jsonb; a pre-stringified value
  // would arrive as a JSON string.
  private json(v: unknown) {
    return this.sql.json(v as postgres.JSONValue);
  }

  async enqueue(jobs: NewJob[]): Promise<Job[]> {
    if (jobs.length === 0) return [];
    const rows = await this.sql<JobRow[]>`
      select * from public.enqueue(${this.json(jobs.map(newJobToJson))})`;
    return rows.map(jobFromRow);
  }

  async claim(workerId: string, limit: number, leaseSeconds: number): Promise<ClaimedJob[]> {
    if (limit <= 0) return [];
    // The claimed jobs come back as ONE json value: parsing 25 rows column by column cost
    // the client ~12 us a row (a Date per timestamp), one JSON.parse costs a fraction.
    const [{ jobs }] = await this.sql<{ jobs: ClaimedRow[] | null }[]>`
      select json_agg(c) as jobs from (
        select ${this.sql.unsafe(CLAIMED_SELECT)} from public.claim(${workerId}, ${limit}::int, ${leaseSeconds}::int)) c`;
    return jobs ? jobs.map(claimedFromRow) : [];
  }

  async complete(workerId: string, done: Completion[]): Promise<string[]> {
    if (done.length === 0) return [];
    const hasResults = done.some((d) => d.result !== undefined);
    // One row holding the array of completed ids (text): one value to parse, not one row per job.
    const [{ ids }] = await this.sql<{ ids: string[] }[]>`
      select coalesce(array_agg(id)::text[], '{}') as ids from public.complete(
        ${workerId},
        ${'{' + done.map((d) => d.id).join(',') + '}'}::bigint[],
        ${'{' + done.map((d) => d.attempt).join(',') + '}'}::int[],
        ${hasResults ? this.json(done.map((d) => d.result ?? null)) : null}) as id`;
    return ids;
  }

  async fail(workerId: string, f: Failure) {
    const rows = await this.sql<{ status: JobStatus; run_at: Date }[]>`
      select * from public.fail(${workerId}, ${f.id}::bigint, ${f.attempt}::int, ${f.error}, ${f.retryInMs}::int)`;
    return rows[0] ? { status: rows[0].status, runAt: rows[0].run_at } : null;
  }

  async release(workerId: string, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const [row] = await this.sql<{ n: number }[]>`
      select public.release(${workerId}, ${'{' + ids.join(',') + '}'}::bigint[]) as n`;
    return row.n;
  }

  async heartbeat(b: WorkerBeat): Promise<string[]> {
    const rows = await this.sql<{ id: string }[]>`
      select id from public.heartbeat(${b.workerId}, ${b.concurrency}::int, ${b.inFlight}::int,
        ${b.leaseSeconds}::int, ${this.json(b.meta ?? {})},
        ${'{' + b.ids.join(',') + '}'}::bigint[]) as id`;
    return rows.map((r) => String(r.id));
  }

  async leave(workerId: string): Promise<void> {
    await this.sql`select public.worker_leave(${workerId})`;
  }

  async stats(): Promise<QueueStats> {
    const [row] = await this.sql<{ s: QueueStats }[]>`select public.stats() as s`;
    return row.s;
  }

  private async oneJob(rows: JobRow[]) {
    return rows[0] ? jobFromRow(rows[0]) : null;
  }

  async getJob(id: string) {
    return this.oneJob(await this.sql<JobRow[]>`select * from public.get_job(${id}::bigint)`);
  }

  async retryJob(id: string) {
    return this.oneJob(await this.sql<JobRow[]>`select * from public.retry_job(${id}::bigint)`);
  }

  async cancelJob(id: string) {
    return this.oneJob(await this.sql<JobRow[]>`select * from public.cancel_job(${id}::bigint)`);
  }

  async requeueDead(kind?: string): Promise<number> {
    const [row] = await this.sql<{ n: number }[]>`select public.requeue_dead(${kind ?? null}) as n`;
    return row.n;
  }

  async prune(o: { succeededHours?: number; failedDays?: number } = {}): Promise<number> {
    const [row] = await this.sql<{ n: number }[]>`
      select public.prune(${o.succeededHours ?? 24}::int, ${o.failedDays ?? 7}::int) as n`;
    return row.n;
  }

  async schemaVersion(): Promise<string | null> {
    const [t] = await this.sql<{ t: string | null }[]>`select to_regclass('supabase_migrations.schema_migrations')::text as t`;
    if (!t.t) return null;
    const [row] = await this.sql<{ v: string | null }[]>`select max(version) as v from supabase_migrations.schema_migrations`;
    return row.v;
  }

  async onWake(listener: () => void): Promise<boolean> {
    // postgres.js keeps one dedicated connection for LISTEN and re-subscribes after a reconnect.
    const sub = await this.sql.listen(WAKE_CHANNEL, () => listener(), () => listener());
    const prev = this.unlisten;
    this.unlisten = async () => { await prev?.(); await sub.unlisten(); };
    return true;
  }

  async ping(): Promise<void> {
    await this.sql`select 1`;
  }

  async close(): Promise<void> {
    try { await this.unlisten?.(); } catch { /* connection may be gone already */ }
    await this.sql.end({ timeout: 5 });
  }

  // Operations (issue 7)
  async listJobs(q: JobListQuery): Promise<Job[]> {
    const rows = await this.sql<JobRow[]>`
      select * from public.list_jobs(${q.status}, ${q.kind ?? null}, ${q.limit ?? 20}::int)`;
    return rows.map(jobFromRow);
  }

  async history(minutes = 60): Promise<HistoryPoint[]> {
    const rows = await this.sql<{ minute: Date; succeeded: string; failed: string }[]>`
      select * from public.job_history(${minutes}::int)`;
    return rows.map((r) => ({ minute: r.minute.toISOString(), succeeded: Number(r.succeeded), failed: Number(r.failed) }));
  }
}
