// How updates come in: a webhook (every instance sets the same URL + secret; Render's
// load balancer spreads updates, Postgres dedupes update_id, and Telegram sends a chat's
// next update only once the previous one is answered) or long polling by the one leader
// instance (see leader.ts) through grammY's runner: updates of different chats run
// concurrently, each chat's (and user's) in order (`sequentialize`), so a chat whose
// sends keep failing holds up only itself.
import { run, sequentialize, type RunnerHandle } from '@grammyjs/runner';
import { BotError, Context } from 'grammy';
import type { Update } from 'grammy/types';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import { initBot, type NeurocardsBot } from './index.ts';
import type { Leader } from '../db/leader.ts';

export const ALLOWED_UPDATES = ['message', 'callback_query', 'my_chat_member'] as const;

export interface BotRunner {
  mode: 'webhook' | 'polling';
  /** Polling: whether this instance currently polls. */
  isPolling(): boolean;
  /** Stops taking updates (polling: no more getUpdates, leadership released). Does not wait for handlers. */
  stop(): Promise<void>;
}

export async function startWebhookMode(bot: NeurocardsBot, o: { url: string; secret: string; log: Logger }): Promise<BotRunner> {
  await initBot(bot, o.log);
  await bot.api.setWebhook(o.url, { secret_token: o.secret, allowed_updates: [...ALLOWED_UPDATES], max_connections: 40 });
  o.log.info({ url: o.url }, 'Telegram webhook set');
  // Stopping one instance must not delete the webhook the others serve.
  return { mode: 'webhook', isPolling: () => false, stop: async () => {} };
}

/** The keys a polled update waits on: its chat and its user (sessions are per user). */
export function updateKeys(bot: NeurocardsBot, update: Update): string[] {
  const ctx = new Context(update, bot.api, bot.botInfo);
  const keys: string[] = [];
  if (ctx.chatId !== undefined) keys.push(`chat:${ctx.chatId}`);
  if (ctx.from) keys.push(`user:${ctx.from.id}`);
  return keys;
}

export function startPollingMode(bot: NeurocardsBot, o: {
  leader: Leader; log: Logger; retryMs?: number;
  /** Runs one update (the caller tracks it for shutdown). Default bot.handleUpdate. */
  handle?: (update: Update) => Promise<void>;
}): BotRunner {
  const { leader, log } = o;
  const stopper = new AbortController();
  let polling = false;
  let initialised = false;
  let handle: RunnerHandle | null = null;
  let stopping: Promise<void> | null = null;
  const inOrder = sequentialize<{ update: Update }>((c) => updateKeys(bot, c.update));
  const consume = (update: Update) => inOrder({ update }, () => (o.handle ?? ((u) => bot.handleUpdate(u)))(update));

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
        if (!initialised) { await initBot(bot, log, stopper.signal); initialised = true; }
        // A webhook left from webhook mode makes getUpdates fail with 409.
        await bot.api.deleteWebhook(undefined, stopper.signal as never);
        if (stopper.signal.aborted) break;
        log.info('polling leader: this instance polls Telegram');
        polling = true;
        handle = run({
          handleUpdate: consume,
          // bot.catch for handler failures; anything else (rare) is logged here.
          errorHandler: async (err: unknown) => {
            if (err instanceof BotError) await bot.errorHandler(err);
            else log.error({ err: (err as Error)?.message ?? String(err) }, 'update failed');
          },
          api: {
            getUpdates: (args, signal) => bot.api.getUpdates({ ...args, allowed_updates: [...ALLOWED_UPDATES] }, signal)
              .catch((err) => {
                if (!signal.aborted) log.warn({ err: (err as Error).message }, 'getUpdates failed; retrying');
                throw err;
              }),
          },
        }, {
          // A Telegram outage longer than this ends the round: leadership is re-taken afresh.
          runner: { silent: true, maxRetryTime: 5 * 60_000, retryInterval: 'exponential' },
          sink: { concurrency: 500 },
        });
        const done = handle.task()!.then(() => 'stopped' as const, (err) => {
          log.error({ err: (err as Error).message }, 'long polling failed');
          return 'failed' as const;
        });
        for (;;) {
          const r = await Promise.race([done, nap(leader.checkEveryMs)]);
          if (r !== 'tick') break;
          if (!(await leader.check().catch(() => false))) { log.warn('polling leadership lost'); break; }
        }
        // Stops fetching; handlers still running finish on their own (tracked by the caller).
        if (handle.isRunning()) await handle.stop().catch((err) => log.warn({ err: (err as Error).message }, 'stopping polling failed'));
        await done;
      } catch (err) {
        if (!stopper.signal.aborted) log.error({ err: (err as Error).message }, 'polling stopped');
      } finally {
        polling = false;
        handle = null;
        await leader.release().catch(() => {});
      }
      if (!stopper.signal.aborted) await nap(o.retryMs ?? 2_000);
    }
  })();

  return {
    mode: 'polling',
    isPolling: () => polling,
    stop() {
      return (stopping ??= (async () => {
        stopper.abort();
        if (handle?.isRunning()) await handle.stop().catch(() => {});
        // The loop may sit in a leader query on a database that does not answer: bounded.
        await Promise.race([loop, sleep(3_000)]);
      })());
    },
  };
}
