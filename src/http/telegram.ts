// POST /telegram: the webhook (mounted by src/http/routes.ts in webhook mode). Its guard
// checks X-Telegram-Bot-Api-Secret-Token (401 otherwise); the handler
// claims the update_id in Postgres (a duplicate — Telegram's retry, or the same update
// on another instance — is acknowledged and dropped), and answers within a second:
// real work goes to the queue, and a handler still running by then finishes after
// the response. A handler that fails fast releases the claim and answers 500, so
// Telegram delivers the update again.
import { timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context, MiddlewareHandler } from 'hono';
import { limitBody } from './body-limit.ts';
import type { Update } from 'grammy/types';
import type { BotSessionStore } from '../db/bot-session.ts';
import type { Logger } from '../log.ts';

export interface TelegramWebhookDeps {
  secret: string;
  updates: Pick<BotSessionStore, 'claimUpdate' | 'releaseUpdate'>;
  handle(update: Update): Promise<void>;
  log: Logger;
  isShuttingDown(): boolean;
  /** Answer 200 after this long even if the handler still runs. Default 800 ms. */
  answerWithinMs?: number;
}

const safeEqual = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export type WebhookHandlers = ReturnType<typeof telegramWebhook>;

export function telegramWebhook(d: TelegramWebhookDeps) {

  // Telegram's updates are a few KB; anything near a megabyte is not from Telegram.
  const limit = limitBody(1024 * 1024,
    (c) => c.json({ error: { code: 'payload_too_large', message: 'update bodies are limited to 1 MB' } }, 413));

  /** The 'telegram-secret' guard. */
  const secretOnly: MiddlewareHandler = async (c, next) => {
    if (!safeEqual(c.req.header('x-telegram-bot-api-secret-token') ?? '', d.secret)) {
      return c.json({ error: { code: 'unauthorized', message: 'wrong or missing secret token' } }, 401);
    }
    await next();
  };

  const update = async (c: Context) => {
    // Telegram retries elsewhere (another instance) while this one drains.
    if (d.isShuttingDown()) return c.json({ error: { code: 'unavailable', message: 'shutting down' } }, 503);
    let update: Update;
    try {
      update = await c.req.json();
    } catch {
      return c.json({ error: { code: 'bad_request', message: 'body is not JSON' } }, 400);
    }
    if (!update || !Number.isSafeInteger(update.update_id)) {
      return c.json({ error: { code: 'bad_request', message: 'no update_id' } }, 400);
    }
    if (!(await d.updates.claimUpdate(update.update_id))) {
      d.log.debug({ update: update.update_id }, 'duplicate update ignored');
      return c.json({ ok: true, duplicate: true });
    }
    const work = d.handle(update);
    const r = await Promise.race([work.then(() => 'done' as const, (err) => err as Error), sleep(d.answerWithinMs ?? 800, 'late' as const)]);
    if (r instanceof Error) {
      await d.updates.releaseUpdate(update.update_id).catch(() => {});
      d.log.error({ update: update.update_id, err: r.message }, 'update failed; Telegram will deliver it again');
      return c.json({ error: { code: 'internal', message: 'update failed' } }, 500);
    }
    if (r === 'late') {
      work.catch((err) => d.log.error({ update: update.update_id, err: (err as Error).message }, 'update failed after the webhook answered'));
    }
    return c.json({ ok: true });
  };

  return {
    secretOnly,
    update: [limit, update],
  };
}
