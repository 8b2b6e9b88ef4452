// Error tracking (seed 002): with SENTRY_DSN set, @sentry/node reports unhandled errors
// (its default uncaught-exception and unhandled-rejection integrations) and every job
// that goes dead, tagged with instance, job kind and job id. Never payloads, photos or
// tokens: events carry no request bodies, no user, no HTTP breadcrumbs (Bot API URLs
// contain the token), and every string is scrubbed before it leaves the process.
import * as Sentry from '@sentry/node';
import type { ClaimedJob } from './db/store.ts';
import type { Logger } from './log.ts';
import { scrub } from './log.ts';

export interface ErrorTracker {
  readonly enabled: boolean;
  /** A job used its last attempt (or failed permanently). */
  jobDead(job: ClaimedJob, error: string | undefined): void;
  captureException(err: unknown, tags?: Record<string, string>): void;
  /** Sends what is queued; call on shutdown. */
  close(timeoutMs?: number): Promise<void>;
}

const off: ErrorTracker = {
  enabled: false,
  jobDead() {},
  captureException() {},
  async close() {},
};

/** Removes every field that could hold user data, then scrubs secrets from all strings. */
function clean<T extends Sentry.Event>(event: T): T {
  delete event.request;
  delete event.user;
  delete event.extra;
  if (event.breadcrumbs) event.breadcrumbs = event.breadcrumbs.filter((b) => !isHttp(b));
  return JSON.parse(scrub(JSON.stringify(event))) as T;
}

const isHttp = (b: Sentry.Breadcrumb) => b.category === 'http' || b.category === 'fetch' || b.type === 'http';

export function initErrorTracking(o: { dsn?: string; instanceId: string; environment: string; log: Logger }): ErrorTracker {
  if (!o.dsn) return off;
  Sentry.init({
    dsn: o.dsn,
    environment: o.environment,
    serverName: o.instanceId,
    // Collect nothing about users, cookies, headers, query strings, bodies, queries or AI I/O.
    dataCollection: {
      userInfo: false, cookies: false, httpHeaders: false, httpBodies: [], urlQueryParams: false,
      genAI: { inputs: false, outputs: false }, databaseQueryData: false, stackFrameVariables: false,
    },
    tracesSampleRate: undefined, // errors only: no tracing spans
    maxBreadcrumbs: 30,
    beforeBreadcrumb: (b) => (isHttp(b) ? null : b),
    beforeSend: (event) => clean(event),
    initialScope: { tags: { instance: o.instanceId } },
  });
  o.log.info({ host: safeHost(o.dsn) }, 'error tracking on (Sentry)');
  return {
    enabled: true,
    jobDead(job, error) {
      Sentry.withScope((scope) => {
        scope.setTags({ instance: o.instanceId, job_kind: job.kind, job_id: job.id });
        scope.setContext('job', { id: job.id, kind: job.kind, attempts: job.attempts, maxAttempts: job.maxAttempts });
        scope.setFingerprint(['job-dead', job.kind, firstLine(error ?? '')]);
        scope.setLevel('error');
        const err = new Error(`job ${job.kind} ${job.id} is dead after ${job.attempts} attempt(s): ${firstLine(error ?? 'unknown error')}`);
        err.name = 'JobDead';
        Sentry.captureException(err);
      });
    },
    captureException(err, tags = {}) {
      Sentry.withScope((scope) => {
        scope.setTags({ instance: o.instanceId, ...tags });
        Sentry.captureException(err);
      });
    },
    async close(timeoutMs = 2_000) {
      await Sentry.close(timeoutMs).catch(() => false);
    },
  };
}

const firstLine = (s: string) => scrub(s.split('\n')[0].slice(0, 300));

function safeHost(dsn: string) {
  try { return new URL(dsn).host; } catch { return '?'; }
}
