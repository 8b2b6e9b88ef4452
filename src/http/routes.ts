// Every HTTP route of the process, in one table: method, path, who may call it, and the
// handler. The handlers live with their feature:
//   health  → src/http/health.ts      /queue, /healthz (Render's health check)
//   ops     → src/http/ops.ts         /metrics, the dashboard, /ops/* (operators)
//   webhook → src/http/telegram.ts    /telegram (webhook mode only)
//   api     → src/api/routes.ts       /api/* (sellers' tools, API keys)
// The auth column is what runs: each value names the guard mounted in front of the handler.
import { Hono, type Handler as HonoHandler, type MiddlewareHandler } from 'hono';
import type { ApiHandlers } from '../api/routes.ts';
import type { Logger } from '../log.ts';
import type { HealthHandlers } from './health.ts';
import type { OpsHandlers } from './ops.ts';
import type { WebhookHandlers } from './telegram.ts';

export type Auth =
  | 'public'           // no credential; answers hold no payloads, secrets or user ids
  | 'api-key'          // Authorization: Bearer <API key>, with the key's rate limit (src/api)
  | 'admin-token'      // Authorization: Bearer <ADMIN_TOKEN>; 403 when the server has none
  | 'telegram-secret'; // X-Telegram-Bot-Api-Secret-Token

type Handler = HonoHandler<any> | MiddlewareHandler<any>;

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  auth: Auth;
  /** The handler, after any middleware of its own (a body limit). */
  handler: Handler | Handler[];
}

export interface HttpHandlers {
  health: HealthHandlers;
  ops: OpsHandlers;
  api: ApiHandlers;
  /** Present in webhook mode only (a public URL is known and the bot runs). */
  webhook: WebhookHandlers | null;
}

export function routeTable({ health, ops, api, webhook }: HttpHandlers): Route[] {
  return [
    { method: 'GET',  path: '/queue',                auth: 'public',          handler: health.queue },
    { method: 'GET',  path: '/healthz',              auth: 'public',          handler: health.healthz },

    { method: 'GET',  path: '/metrics',              auth: 'public',          handler: ops.metrics },
    { method: 'GET',  path: '/',                     auth: 'public',          handler: ops.page },
    { method: 'GET',  path: '/dashboard.js',         auth: 'public',          handler: ops.script },
    { method: 'GET',  path: '/ops',                  auth: 'public',          handler: ops.summary },
    { method: 'POST', path: '/ops/jobs/:id/retry',   auth: 'admin-token',     handler: ops.retry },

    ...(webhook ? [
      { method: 'POST', path: '/telegram',           auth: 'telegram-secret', handler: webhook.update } as const,
    ] : []),

    { method: 'GET',  path: '/api/openapi.json',     auth: 'public',          handler: api.openapi },
    { method: 'POST', path: '/api/cards',            auth: 'api-key',         handler: api.createCard },
    { method: 'GET',  path: '/api/cards/:id',        auth: 'api-key',         handler: api.card },
    { method: 'DELETE', path: '/api/cards/:id',      auth: 'api-key',         handler: api.cancel },
    { method: 'GET',  path: '/api/cards/:id/result', auth: 'api-key',         handler: api.result },
    { method: 'POST', path: '/api/cards/:id/choice', auth: 'api-key',         handler: api.choose },
    { method: 'GET',  path: '/api/cards/:id/variants/:n', auth: 'api-key',    handler: api.variant },
    { method: 'GET',  path: '/api/cards/:id/slides/:n', auth: 'api-key',      handler: api.slide },
    { method: 'GET',  path: '/api/stats',            auth: 'api-key',         handler: api.stats },
  ];
}

export function createHttpApp(h: HttpHandlers, log: Logger): Hono {
  const guard = (auth: Auth): Handler[] => {
    switch (auth) {
      case 'public': return [];
      case 'api-key': return [h.api.auth];
      case 'admin-token': return [h.ops.adminOnly];
      case 'telegram-secret':
        if (!h.webhook) throw new Error('a telegram-secret route without the webhook');
        return [h.webhook.secretOnly];
    }
  };
  const app = new Hono();
  for (const r of routeTable(h)) app.on(r.method, r.path, ...([...guard(r.auth), r.handler].flat() as [HonoHandler]));

  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((err, c) => {
    log.error({ err: err.message, path: c.req.path }, 'http handler failed');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  });
  return app;
}
