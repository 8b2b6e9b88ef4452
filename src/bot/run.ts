// How updates come in: a webhook (every instance sets the same URL + secret; Render's
// load balancer spreads updates, Postgres dedupes update_id) or long polling by the
// one leader instance (see leader.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import { initBot, type NeurocardsBot } from './index.ts';
import type { Leader } from './leader.ts';

export const ALLOWED_UPDATES = ['message', 'callback_query', 'my_chat_member'] as const;

export interface BotRunner {
  mode: 'webhook' | 'polling';
  /** Polling: whether this instance currently polls. */
  isPolling(): boolean;
  stop(): Promise<void>;
}

export async function startWebhookMode(bot: NeurocardsBot, o: { url: string; secret: string; log: Logger }): Promise<BotRunner> {
  await initBot(bot, o.log);
  await bot.api.setWebhook(o.url, { secret_token: o.secret, allowed_updates: [...ALLOWED_UPDATES], max_connections: 40 });
  o.log.info({ url: o.url }, 'Telegram webhook set');
  // Stopping one instance must not delete the webhook the others serve.
  return { mode: 'webhook', isPolling: () => false, stop: async () => {} };
}

export function startPollingMode(bot: NeurocardsBot, o: { leader: Leader; log: Logger; retryMs?: number }): BotRunner {
  const { leader, log } = o;
  const stopper = new AbortController();
  let polling = false;
  let initialised = false;

  const nap = (ms: number) => sleep(ms, 'tick' as const, { signal: stopper.signal }).catch(() => 'stop' as const);

  const loop = (async () => {
    while (!stopper.signal.aborted) {
      let got = false;
      try {
        got = await leader.tryAcquire();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'polling leader election failed; retrying');
      }
      if (!got) { await nap(o.retryMs ?? 2_000); continue; }
      try {
        if (!initialised) { await initBot(bot, log); initialised = true; }
        // A webhook left from webhook mode makes getUpdates fail with 409.
        await bot.api.deleteWebhook();
        if (stopper.signal.aborted) break;
        log.info('polling leader: this instance polls Telegram');
        polling = true;
        const done = bot.start({ allowed_updates: [...ALLOWED_UPDATES] }).then(() => 'stopped' as const, (err) => {
          log.error({ err: (err as Error).message }, 'long polling failed');
          return 'failed' as const;
        });
        for (;;) {
          const r = await Promise.race([done, nap(leader.checkEveryMs)]);
          if (r !== 'tick') break;
          if (!(await leader.check().catch(() => false))) { log.warn('polling leadership lost'); break; }
        }
        if (bot.isRunning()) await bot.stop().catch((err) => log.warn({ err: (err as Error).message }, 'stopping polling failed'));
        await done;
      } catch (err) {
        log.error({ err: (err as Error).message }, 'polling stopped');
      } finally {
        polling = false;
        await leader.release().catch(() => {});
      }
      if (!stopper.signal.aborted) await nap(o.retryMs ?? 2_000);
    }
  })();

  return {
    mode: 'polling',
    isPolling: () => polling,
    async stop() {
      stopper.abort();
      if (bot.isRunning()) await bot.stop().catch(() => {});
      await loop;
    },
  };
}
