// The HTTP face: /queue (stats + Render health check), /healthz. Other routes (the
// Telegram webhook, /metrics, the dashboard) are mounted by their own modules.
import { Hono } from 'hono';
import type { QueueStats } from '../db/store.ts';
import type { Logger } from '../log.ts';
import type { StatsCache } from './stats-cache.ts';

export interface LocalWorker {
  id: string;
  concurrency: number;
  inFlight: number;
  health(): { ok: boolean; reason?: string };
}

export interface HttpDeps {
  stats: StatsCache;
  /** This instance's pool, when it runs one (absent with --no-worker). */
  worker?: LocalWorker;
  isShuttingDown(): boolean;
  log: Logger;
}

export function queueView(s: QueueStats, worker?: LocalWorker) {
  // This instance's own row comes from memory, not from its last heartbeat.
  const instances = s.instances.map((i) => (worker && i.id === worker.id ? { ...i, inFlight: worker.inFlight } : i));
  return {
    queued: s.queued,
    processing: s.running,
    scheduled: s.scheduled,
    dead: s.dead,
    workers: instances.length,
    instances,
    oldestQueuedSeconds: Math.round(s.oldestQueuedSeconds * 10) / 10,
    expiredLeases: s.expiredLeases,
    last24h: s.last24h,
    throughputPerMinute: s.last24h.lastMinute,
    at: s.at,
  };
}

export function createApp(d: HttpDeps) {
  const app = new Hono();

  const health = async () => {
    const { stats, error } = await d.stats.get();
    const problems: string[] = [];
    if (d.isShuttingDown()) problems.push('shutting down');
    if (error) problems.push(error);
    const w = d.worker?.health();
    if (w && !w.ok && w.reason && !problems.includes(w.reason)) problems.push(w.reason);
    return { stats, ok: problems.length === 0, reason: problems.join('; ') || undefined };
  };

  app.get('/queue', async (c) => {
    const h = await health();
    c.header('Cache-Control', 'no-store');
    const body = {
      status: h.ok ? 'ok' : 'unavailable',
      ...(h.reason ? { reason: h.reason } : {}),
      ...(h.stats ? queueView(h.stats, d.worker) : {}),
    };
    return c.json(body, h.ok ? 200 : 503);
  });

  app.get('/healthz', async (c) => {
    const h = await health();
    c.header('Cache-Control', 'no-store');
    return c.json({ status: h.ok ? 'ok' : 'unavailable', ...(h.reason ? { reason: h.reason } : {}) }, h.ok ? 200 : 503);
  });

  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((err, c) => {
    d.log.error({ err: err.message, path: c.req.path }, 'http handler failed');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  });
  return app;
}
