// `npx neurocards <command>`: migrate | start | enqueue | stats | jobs | retry | requeue | cancel | prune
import { parseArgs } from 'node:util';
import 'dotenv/config';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { openStore } from './db/open.ts';
import { migrate } from './db/migrate.ts';
import { SchemaBehindError } from './db/migrate.ts';
import { PostgresStore } from './db/postgres.ts';
import { EmbeddedPgError, startEmbedded } from './db/embedded.ts';
import type { JobListStatus, QueueStats } from './db/store.ts';
import { jobSummary } from './http/ops.ts';
import { isConnectionError } from './metrics.ts';
import { createLogger, scrub, type Logger } from './log.ts';
import { startApp } from './main.ts';
import { queueView } from './http/health.ts';
import { APIKEY_USAGE, runApikey } from './api/cli.ts';

const USAGE = `Usage: neurocards <command> [options]

Commands:
  start [--no-bot] [--no-worker]    run the bot, the worker pool and HTTP (PORT, default 3000)
  migrate                           apply pending supabase/migrations (needs DATABASE_URL or the embedded DB)
  enqueue noop --count N [--ms M]   add N diagnostic jobs that sleep M ms
  stats [--json]                    queue figures, as /queue shows them
  jobs --status S [--kind K] [--limit N] [--json]
                                    newest jobs in state S (dead, failed = retrying, queued,
                                    running, succeeded, canceled) with their errors
  retry <job-id>                    put a dead or canceled job back in the queue
  requeue --dead [--kind K]         put all dead jobs (of kind K) back in the queue
  cancel <job-id>                   cancel a queued or running job
  prune                             delete finished jobs past retention now
${APIKEY_USAGE}

Configuration comes from the environment and .env; see .env.example.`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      'no-bot': { type: 'boolean', default: false },
      'no-worker': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      count: { type: 'string', default: '1' },
      ms: { type: 'string', default: '0' },
      dead: { type: 'boolean', default: false },
      kind: { type: 'string' },
      name: { type: 'string' }, rate: { type: 'string' }, quota: { type: 'string' }, // apikey create
      status: { type: 'string' },
      limit: { type: 'string', default: '20' },
    },
  });
  const config = loadConfig();
  // Commands other than start talk to a human: keep their logs to warnings.
  const log = createLogger({
    level: command === 'start' ? config.LOG_LEVEL : (process.env.LOG_LEVEL ?? 'warn'),
    instanceId: command === 'start' ? config.instanceId : undefined,
  });

  switch (command) {
    case 'start':
      return runStart(config, log, { bot: !values['no-bot'], worker: !values['no-worker'] });
    case 'migrate':
      return runMigrate(config, log);
  }

  const opened = await openStore(config, log);
  const { store } = opened;
  try {
    switch (command) {
      case 'enqueue': {
        const kind = positionals[0];
        if (kind !== 'noop') throw new UsageError('only `enqueue noop` is available from the CLI');
        const count = positiveInt(values.count, '--count');
        const ms = positiveInt(values.ms, '--ms', true);
        const bar = count > 1000 ? new Progress('enqueue', count) : null;
        for (let i = 0; i < count; i += 1000) {
          const n = Math.min(1000, count - i);
          await store.enqueue(Array.from({ length: n }, () => ({ kind: 'noop', payload: { ms } })));
          bar?.add(n);
        }
        bar?.done();
        console.log(`enqueued ${count} noop job${count === 1 ? '' : 's'} (${ms} ms each)`);
        return 0;
      }
      case 'stats': {
        const s = await store.stats();
        console.log(values.json ? JSON.stringify(queueView(s)) : formatStats(s));
        return 0;
      }
      case 'jobs': {
        const status = values.status as JobListStatus | undefined;
        if (!status || !JOB_STATES.includes(status))
          throw new UsageError(`jobs needs --status, one of ${JOB_STATES.join(', ')}${status ? ` (got "${status}")` : ''}`);
        const limit = positiveInt(values.limit, '--limit');
        if (limit > 1000) throw new UsageError(`--limit must be at most 1000, got ${limit}`);
        const jobs = await store.listJobs({ status, kind: values.kind, limit });
        console.log(values.json ? JSON.stringify(jobs.map(jobSummary)) : formatJobs(jobs.map(jobSummary), status));
        return 0;
      }
      case 'retry': {
        const job = await store.retryJob(jobId(positionals[0]));
        if (!job) { console.error(`job ${positionals[0]} not found, or not dead/canceled`); return 1; }
        console.log(`job ${job.id} (${job.kind}) queued again`);
        return 0;
      }
      case 'requeue': {
        if (!values.dead) throw new UsageError('requeue needs --dead (only dead jobs can be requeued in bulk)');
        const n = await store.requeueDead(values.kind);
        console.log(`requeued ${n} dead job${n === 1 ? '' : 's'}${values.kind ? ` of kind ${values.kind}` : ''}`);
        return 0;
      }
      case 'cancel': {
        const job = await store.cancelJob(jobId(positionals[0]));
        if (!job) { console.error(`job ${positionals[0]} not found, or already finished`); return 1; }
        console.log(`job ${job.id} canceled`);
        return 0;
      }
      case 'apikey':
        return await runApikey(opened, positionals, values);
      case 'prune': {
        let total = 0;
        const bar = new Progress('prune', null);
        for (let n = -1; n !== 0; total += n) { n = await store.prune(); bar.add(n); }
        bar.done();
        console.log(`deleted ${total} finished job${total === 1 ? '' : 's'} past retention`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    await opened.close();
  }
}

async function runStart(config: Config, log: Logger, o: { bot: boolean; worker: boolean }): Promise<number> {
  // Signals are taken from the first moment: a SIGTERM while the app is still starting (Render
  // stops a deploy that is slow to turn healthy) must end in the orderly stop once the app is
  // up, not in Node's default exit that leaves leases and the embedded database behind.
  let signals = 0;
  let exit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => { exit = resolve; });
  let firstSignal: NodeJS.Signals | null = null;
  let app: Awaited<ReturnType<typeof startApp>> | null = null;
  const stopApp = (sig: NodeJS.Signals) => app!.stop(sig).then(() => exit(0),
    (err) => { log.error({ err: scrub(String(err?.message ?? err)) }, 'shutdown failed'); exit(1); });
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) { log.warn({ sig }, 'second signal: exiting now'); exit(1); return; }
    // The orderly stop is bounded step by step; this is the backstop for what is not
    // (a database that stops answering mid-shutdown): the promise is grace + 5 s.
    setTimeout(() => {
      log.error({ graceMs: config.SHUTDOWN_GRACE_MS }, 'shutdown still not done 4.5 s after the grace; exiting now');
      exit(1);
    }, config.SHUTDOWN_GRACE_MS + 4_500).unref();
    if (app) void stopApp(sig);
    else { firstSignal = sig; log.info({ sig }, 'signal while starting: stopping as soon as the start is done'); }
  };
  // SIGHUP: the terminal closed. The embedded Postgres is in its own process group, so the app
  // must stop it rather than die by the default action and leave it running.
  const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    app = await startApp(config, log, o);
  } catch (err) {
    for (const s of SIGNALS) process.off(s, onSignal);
    throw err;
  }
  if (firstSignal) void stopApp(firstSignal);
  return exited;
}

async function runMigrate(config: Config, log: Logger): Promise<number> {
  const db = config.database;
  if (db.mode === 'rpc') {
    console.error('migrate needs a direct connection: set DATABASE_URL (Supabase: the session pooler string, port 5432), ' +
      'or apply supabase/migrations with `supabase db push`.');
    return 1;
  }
  const embedded = db.mode === 'embedded' ? await startEmbedded({ dir: db.dir, port: db.port, log }) : null;
  const store = new PostgresStore({ url: embedded?.url ?? (db as { url: string }).url, poolSize: 1, prepare: false });
  try {
    const applied = await migrate(store.sql, (m) => console.log(m));
    console.log(applied.length ? `migrated: ${applied.length} migration(s) applied` : 'database is up to date');
    return 0;
  } finally {
    await store.close();
    await embedded?.stop();
  }
}

const JOB_STATES: JobListStatus[] = ['dead', 'failed', 'queued', 'running', 'succeeded', 'canceled'];

/**
 * Progress on stderr for long operations: a redrawn bar on a terminal, a line every
 * ~10% (or every batch when the total is unknown) otherwise, so logs and CI show it too.
 */
export class Progress {
  private n = 0;
  private lastPct = -1;
  private readonly started = Date.now();
  private readonly tty = Boolean(process.stderr.isTTY);
  constructor(private readonly label: string, private readonly total: number | null) {}

  add(k: number) {
    this.n += k;
    const rate = Math.round(this.n / Math.max(0.001, (Date.now() - this.started) / 1000));
    if (this.total) {
      const pct = Math.min(100, Math.floor((100 * this.n) / this.total));
      const width = 30, filled = Math.round((width * pct) / 100);
      const text = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${this.n}/${this.total} (${rate}/s)`;
      if (this.tty) process.stderr.write(`\r${text}`);
      else if (pct >= this.lastPct + 10 || this.n >= this.total) { process.stderr.write(`${text}\n`); this.lastPct = pct; }
    } else if (k > 0) {
      const text = `${this.label}: ${this.n} so far (${rate}/s)`;
      process.stderr.write(this.tty ? `\r${text}` : `${text}\n`);
    }
  }

  done() {
    if (this.tty && this.n > 0) process.stderr.write('\n');
  }
}

export function formatJobs(jobs: ReturnType<typeof jobSummary>[], status: string): string {
  if (jobs.length === 0) return `no ${status} jobs`;
  const when = (j: ReturnType<typeof jobSummary>) => (j.finishedAt ?? j.runAt).replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const width = Math.max(60, process.stdout.columns ?? 120);
  const head = ['id', 'kind', 'status', 'attempts', status === 'failed' || status === 'queued' ? 'next run' : 'when'];
  const rows = jobs.map((j) => [j.id, j.kind, j.status, `${j.attempts}/${j.maxAttempts}`, when(j)]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[], err: string) => {
    const left = cells.map((c, i) => c.padEnd(w[i])).join('  ');
    const room = Math.max(20, width - left.length - 2);
    const e = err.replace(/\s+/g, ' ');
    return `${left}  ${e.length > room ? e.slice(0, room - 1) + '…' : e}`.trimEnd();
  };
  return [line(head, 'error'), ...rows.map((r, i) => line(r, jobs[i].lastError ?? ''))].join('\n');
}

function positiveInt(v: string | undefined, name: string, zeroOk = false): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < (zeroOk ? 0 : 1)) throw new UsageError(`${name} must be a whole number${zeroOk ? '' : ' above 0'}, got "${v}"`);
  return n;
}

function jobId(v: string | undefined): string {
  if (!v || !/^\d+$/.test(v)) throw new UsageError(`a numeric job id is required, got "${v ?? ''}"`);
  return v;
}

export function formatStats(s: QueueStats): string {
  const v = queueView(s);
  const rows: [string, string | number][] = [
    ['queued', v.queued], ['processing', v.processing], ['scheduled (retry later)', v.scheduled], ['dead', v.dead],
    ['live workers', v.workers], ['oldest queued', `${v.oldestQueuedSeconds} s`],
    ['succeeded (24 h)', v.last24h.succeeded], ['failed (24 h)', v.last24h.failed],
    ['avg duration (24 h)', v.last24h.avgSeconds == null ? '-' : `${v.last24h.avgSeconds} s`],
    ['p95 duration (24 h)', v.last24h.p95Seconds == null ? '-' : `≤ ${v.last24h.p95Seconds} s`],
    ['last minute', `${v.throughputPerMinute} jobs`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, val]) => `${k.padEnd(w)}  ${val}`);
  for (const i of v.instances) lines.push(`  worker ${i.id}: ${i.inFlight}/${i.concurrency} in flight, heartbeat ${i.lastHeartbeatAt}`);
  return lines.join('\n');
}

process.on('unhandledRejection', (reason) => {
  // Never let a stray rejection kill a process that holds leases; log it loudly.
  console.error(JSON.stringify({ level: 50, msg: 'unhandled rejection', err: scrub(String((reason as Error)?.stack ?? reason)) }));
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if ((err as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS')) err = new UsageError(err.message);
    if (err instanceof EmbeddedPgError) {
      console.error(`neurocards: ${err.message}`);
      process.exit(1);
    }
    if (err instanceof ConfigError || err instanceof SchemaBehindError || err instanceof UsageError) {
      console.error(err instanceof UsageError ? `${err.message}\n\n${USAGE}` : err.message);
      process.exit(err instanceof UsageError ? 2 : 1);
    }
    const message = scrub(String(err?.message ?? err));
    console.error(isConnectionError(err)
      ? `neurocards: cannot reach the database (${message}); check DATABASE_URL / SUPABASE_URL and that the database is up`
      : `neurocards: ${message}`);
    process.exit(1);
  },
);
