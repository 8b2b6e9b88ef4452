// The Telegram half of the composition root, kept out of main.ts so that file stays
// small: the order store, its job kinds (render-card, card-set, deliver-card, prune-bot-tables), the bot and
// how updates arrive (webhook handlers for POST /telegram, or long polling by one leader).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Update } from 'grammy/types';
import type { Config } from './config.ts';
import { aiFromConfig, forOrder } from './ai/index.ts';
import { createBot, type NeurocardsBot } from './bot/index.ts';
import { pruneBotTablesJob } from './orders/jobs/prune-bot-tables.ts';
import { startPollingMode, startWebhookMode, type BotRunner } from './bot/run.ts';
import type { Database } from './db/open.ts';
import type { OrderStore } from './db/orders.ts';
import { telegramWebhook, type WebhookHandlers } from './http/telegram.ts';
import type { Logger } from './log.ts';
import { scrub } from './log.ts';
import { createTelegramApi } from './telegram/api.ts';
import { cardSetJob } from './orders/jobs/card-set.ts';
import { deliverCardJob } from './orders/jobs/deliver-card.ts';
import { renderCardJob } from './orders/jobs/render-card.ts';
import type { JobKind } from './worker/registry.ts';

export interface TelegramPart {
  orders: OrderStore;
  /** Job kinds to register (none without a bot token: they need the Bot API). */
  jobs: JobKind<any>[];
  /** The handlers of POST /telegram in webhook mode (null otherwise), for src/http/routes.ts. */
  webhook(isShuttingDown: () => boolean): WebhookHandlers | null;
  /** Sets the webhook or starts leader-elected polling. */
  startBot(): Promise<void>;
  bot: NeurocardsBot | null;
  runner(): BotRunner | null;
  /** Shutdown, first step: no new updates (polling stops fetching; the webhook answers 503 by itself). */
  stopUpdates(): Promise<void>;
  /**
   * Shutdown, last step: handlers still running get until `deadline` (epoch ms), then
   * their Telegram calls are aborted and the bot is closed without waiting any longer.
   */
  stop(deadline?: number): Promise<void>;
}

export function webhookSecret(config: Config): string {
  return config.TELEGRAM_WEBHOOK_SECRET ??
    createHash('sha256').update(`neurocards-webhook:${config.TELEGRAM_BOT_TOKEN}`).digest('hex').slice(0, 48);
}

export function composeTelegram(config: Config, db: Database, log: Logger, o: { bot: boolean }): TelegramPart {
  const { orders, sessions, store } = db;
  const token = config.TELEGRAM_BOT_TOKEN;
  const apiRoot = config.TELEGRAM_API_ROOT;
  const maxPhotoBytes = config.MAX_PHOTO_MB * 1024 * 1024;
  // Retention of the bot's tables runs with or without a token: the tables exist either way.
  const jobs: JobKind<any>[] = [pruneBotTablesJob(orders, config.MAINTENANCE_EVERY_S * 1000)];
  const abandon = new AbortController();
  if (token) {
    // Jobs hand a long 429 back to the queue (RetryAfterError) instead of holding a slot.
    const api = createTelegramApi({
      token, apiRoot, throttle: config.TELEGRAM_THROTTLE,
      maxInlineRetrySeconds: config.TELEGRAM_INLINE_RETRY_MAX_S, retryServerErrors: false, maxRetryAttempts: 2,
    });
    const ai = aiFromConfig(config, db.limits, { store: db.ai, holder: config.instanceId, log: log.child({ part: 'ai' }) });
    if (ai) {
      log.info({ model: ai.provider.model, keys: ai.pool?.size ?? 1 }, 'AI copywriter on (OPENROUTER_API_KEY(S) set)');
      ai.limiter.apply().catch((err) => log.warn({ err: scrub((err as Error).message) }, 'AI rate limits not applied yet'));
    }
    // With a key, each order's variants ask the AI for their backdrops exactly as API cards do
    // (null → the local one); the paid calls are keyed `order:<id>:v<n>:backdrop`.
    const source = ai?.backdrop ?? null;
    if (source) log.info({ model: config.OPENROUTER_IMAGE_MODEL, keys: ai?.pool?.size ?? 1 }, 'AI backdrops on for bot orders');
    const deps = {
      orders, api, token, apiRoot, workerId: config.instanceId, maxPhotoBytes, copy: ai?.provider ?? null,
      sendDeadlineMs: config.TELEGRAM_SEND_DEADLINE_MS,
      backdropsFor: source ? (orderKey: string) => forOrder(source, orderKey) : null,
    };
    jobs.push(renderCardJob(deps), cardSetJob(deps), deliverCardJob(deps));
  }

  const bot = token && o.bot ? createBot({
    token, apiRoot, orders, sessions, log: log.child({ part: 'bot' }),
    queueStats: () => store.stats(),
    aiCost: () => db.ai.costStats(),
    adminIds: config.ADMIN_IDS, maxOpenOrders: config.MAX_OPEN_ORDERS, dailyQuota: config.DAILY_ORDER_QUOTA,
    maxPhotoBytes, throttle: config.TELEGRAM_THROTTLE,
    updateBudgetMs: config.TELEGRAM_UPDATE_BUDGET_MS, abandon: abandon.signal,
  }) : null;
  let runner: BotRunner | null = null;
  // Every update being handled, webhook or polling: shutdown waits for these, up to the grace.
  const handling = new Set<Promise<void>>();
  const handle = (update: Update): Promise<void> => {
    const work = bot!.handleUpdate(update);
    handling.add(work);
    work.catch(() => {}).finally(() => handling.delete(work));
    return work;
  };

  return {
    orders, jobs, bot,
    runner: () => runner,
    webhook(isShuttingDown) {
      if (!bot || !config.webhookUrl) return null;
      return telegramWebhook({
        secret: webhookSecret(config), updates: sessions, log, isShuttingDown,
        handle,
      });
    },
    async startBot() {
      if (!bot) {
        log.info(token ? 'bot off (--no-bot)' : 'bot off: TELEGRAM_BOT_TOKEN is not set (worker and HTTP run)');
        return;
      }
      if (config.webhookUrl) {
        log.info({ why: config.WEBHOOK_URL ? 'WEBHOOK_URL is set' : 'RENDER_EXTERNAL_URL is set (Render)' },
          `bot: webhook mode (${config.WEBHOOK_URL ? 'WEBHOOK_URL' : 'RENDER_EXTERNAL_URL'} is set)`);
        runner = await startWebhookMode(bot, { url: config.webhookUrl, secret: webhookSecret(config), log });
      } else {
        const botId = Number(token!.split(':')[0]);
        const leader = db.pollingLeader(botId, config.instanceId);
        log.info({ leader: leader.constructor.name }, 'no public URL: long polling by one leader instance');
        runner = startPollingMode(bot, { leader, log, handle });
      }
    },
    async stopUpdates() {
      await runner?.stop();
    },
    async stop(deadline = Date.now()) {
      await runner?.stop(); // no-op when stopUpdates ran
      const settled = () => Promise.allSettled([...handling]);
      const left = deadline - Date.now();
      if (handling.size && left > 0) await Promise.race([settled(), sleep(left)]);
      if (handling.size) {
        log.warn({ handlers: handling.size }, 'shutdown grace over: abandoning the bot handlers still running');
        abandon.abort();
        // Aborted calls fail at once; a handler stuck elsewhere is not waited for.
        await Promise.race([settled(), sleep(500)]);
      }
    },
  };
}
