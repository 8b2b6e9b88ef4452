// Operations handlers (issue 7): GET /metrics (Prometheus), GET / (the live dashboard, a
// static page: no build step), GET /ops (what the dashboard draws besides /queue) and
// POST /ops/jobs/:id/retry (needs ADMIN_TOKEN; without it the dashboard is read-only).
// Mounted by src/http/routes.ts; /ops is the operators' prefix, apart from the public /api.
import { timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context, MiddlewareHandler } from 'hono';
import type { HistoryPoint, Job, Store } from '../db/store.ts';
import type { Logger } from '../log.ts';
import type { ScheduleStatus } from '../worker/schedule.ts';
import { scrub } from '../log.ts';
import { metricsContentType, renderMetrics } from '../metrics.ts';

const asset = (name: string) => readFileSync(new URL(`./dashboard/${name}`, import.meta.url), 'utf8');
const PAGE = asset('index.html');
const SCRIPT = asset('dashboard.js');

export interface OpsDeps {
  store: Store;
  log: Logger;
  adminToken?: string;
  /** How long /ops answers are reused (ms): many open dashboards cost one read. */
  cacheMs?: number;
  /** The worker's schedules (maintenance), when this instance runs one. */
  schedules?: () => ScheduleStatus[];
}

/** What the dashboard and the CLI show of a job: never its payload or result. */
export function jobSummary(j: Job) {
  return {
    id: j.id, kind: j.kind, status: j.status, attempts: j.attempts, maxAttempts: j.maxAttempts,
    lastError: j.lastError == null ? null : scrub(j.lastError).slice(0, 1000),
    runAt: j.runAt.toISOString(), createdAt: j.createdAt.toISOString(),
    finishedAt: j.finishedAt?.toISOString() ?? null,
  };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export type OpsHandlers = ReturnType<typeof opsHandlers>;

export function opsHandlers(d: OpsDeps) {
  const cacheMs = d.cacheMs ?? 2_000;
  let cached: { at: number; body: Promise<unknown> } | null = null;

  const opsData = async () => {
    const [history, dead, failed, schedules] = await Promise.all([
      d.store.history(60),
      d.store.listJobs({ status: 'dead', limit: 15 }),
      d.store.listJobs({ status: 'failed', limit: 15 }),
      // each schedule's current period and its job (the same job on every instance)
      Promise.all((d.schedules?.() ?? []).map(async (s) => ({
        kind: s.kind, everySeconds: s.everyMs / 1000, period: s.period, nextAt: s.nextAt,
        job: s.jobId ? await d.store.getJob(s.jobId).then((j) => j && jobSummary(j)) : null,
      }))),
    ]);
    return {
      admin: Boolean(d.adminToken),
      history: history satisfies HistoryPoint[],
      dead: dead.map(jobSummary),
      failed: failed.map(jobSummary),
      schedules,
      at: new Date().toISOString(),
    };
  };

  const metrics = async (c: Context) => {
    const text = await renderMetrics();
    return c.body(text, 200, { 'Content-Type': metricsContentType, 'Cache-Control': 'no-store' });
  };

  const securityHeaders = {
    'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
  const page = (c: Context) => c.html(PAGE, 200, { ...securityHeaders, 'Cache-Control': 'no-cache' });
  const script = (c: Context) => c.body(SCRIPT, 200, {
    ...securityHeaders, 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache',
  });

  const summary = async (c: Context) => {
    if (!cached || Date.now() - cached.at >= cacheMs) {
      const body = opsData();
      cached = { at: Date.now(), body };
      body.catch(() => { if (cached?.body === body) cached = null; });
    }
    c.header('Cache-Control', 'no-store');
    try {
      return c.json(await cached.body);
    } catch (err) {
      return c.json({ error: { code: 'unavailable', message: `database unavailable: ${scrub((err as Error).message)}` } }, 503);
    }
  };

  /** The 'admin-token' guard: Authorization: Bearer <ADMIN_TOKEN>; 403 when the server has none. */
  const adminOnly: MiddlewareHandler = async (c, next) => {
    if (!d.adminToken)
      return c.json({ error: { code: 'read_only', message: 'ADMIN_TOKEN is not set on the server: the dashboard is read-only' } }, 403);
    const given = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
    if (!timingSafeEqual(digest(given), digest(d.adminToken)))
      return c.json({ error: { code: 'unauthorized', message: 'wrong or missing admin token' } }, 401);
    await next();
  };

  const retry = async (c: Context) => {
    const id = c.req.param('id') ?? '';
    if (!/^\d{1,18}$/.test(id)) return c.json({ error: { code: 'bad_request', message: 'job id must be a number' } }, 400);
    const job = await d.store.retryJob(id);
    if (!job) return c.json({ error: { code: 'not_retryable', message: `job ${id} not found, or not dead/canceled` } }, 404);
    cached = null;
    d.log.info({ job: job.id, kind: job.kind, via: 'dashboard' }, 'job queued again by an operator');
    return c.json({ job: jobSummary(job) });
  };

  return { metrics, page, script, summary, adminOnly, retry };
}
