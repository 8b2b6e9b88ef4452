// What every benchmarked queue provides. The orchestrator (run.ts) sets up and
// enqueues; workers run in child processes (child.ts) so each has its own CPU and RSS.
export interface BenchJob { ms: number; t?: number }

export interface Ctx {
  /** A fresh database for this system and run. */
  dbUrl: string;
  /** A unique name (Redis key prefix / queue name) for this run. */
  tag: string;
  variant: string;
}

export interface Producer {
  enqueue(job: BenchJob): Promise<void>;
  close(): Promise<void>;
}

export interface WorkerHandle {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface System {
  name: string;
  /** Install the schema (run once per fresh database). */
  prepare(ctx: Ctx): Promise<void>;
  /** Bulk-enqueue n jobs before the clock starts. */
  seed(ctx: Ctx, n: number, job: BenchJob): Promise<void>;
  producer(ctx: Ctx): Promise<Producer>;
  /** Counts jobs not yet recorded as finished, over one open connection. */
  monitor(ctx: Ctx): Promise<{ remaining(): Promise<number>; close(): Promise<void> }>;
  /** In the child: a worker at `concurrency` that calls run(job) for each job. */
  worker(ctx: Ctx, concurrency: number, run: (job: BenchJob) => Promise<void>): Promise<WorkerHandle>;
  cleanup?(ctx: Ctx): Promise<void>;
}
