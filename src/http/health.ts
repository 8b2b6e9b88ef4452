// GET /queue (stats + Render's health check) and GET /healthz: their handlers. Every
// route is mounted by src/http/routes.ts.
import type { Context } from 'hono';
import type { QueueStats } from '../db/store.ts';
import type { StatsCache } from './stats-cache.ts';

export interface LocalWorker {
  id: string;
  concurrency: number;
  inFlight: number;
  health(): { ok: boolean; reason?: string };
}

export interface HealthDeps {
  stats: StatsCache;
  /** This instance's pool, when it runs one (absent with --no-worker). */
  worker?: LocalWorker;
  isShuttingDown(): boolean;
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

export type HealthHandlers = ReturnType<typeof healthHandlers>;

export function healthHandlers(d: HealthDeps) {
  const health = async () => {
    const { stats, error } = await d.stats.get();
    const problems: string[] = [];
    if (d.isShuttingDown()) problems.push('shutting down');
    if (error) problems.push(error);
    const w = d.worker?.health();
    if (w && !w.ok && w.reason && !problems.includes(w.reason)) problems.push(w.reason);
    return { stats, ok: problems.length === 0, reason: problems.join('; ') || undefined };
  };

  const queue = async (c: Context) => {
    const h = await health();
    c.header('Cache-Control', 'no-store');
    const body = {
      status: h.ok ? 'ok' : 'unavailable',
      ...(h.reason ? { reason: h.reason } : {}),
      ...(h.stats ? queueView(h.stats, d.worker) : {}),
    };
    return c.json(body, h.ok ? 200 : 503);
  };

  const healthz = async (c: Context) => {
    const h = await health();
    c.header('Cache-Control', 'no-store');
    return c.json({ status: h.ok ? 'ok' : 'unavailable', ...(h.reason ? { reason: h.reason } : {}) }, h.ok ? 200 : 503);
  };

  return { queue, healthz };
}
