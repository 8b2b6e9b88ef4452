// createBot(deps): the grammY bot with every feature, ready for webhook or polling.
// Outgoing calls go through grammY's throttler and auto-retry plugins.
import { Bot, BotError } from 'grammy';
import { configureApi } from '../telegram/api.ts';
import { telegramBudget } from './budget.ts';
import type { BotContext, BotDeps } from './context.ts';
import { admin } from './features/admin.ts';
import { cancel } from './features/cancel.ts';
import { help } from './features/help.ts';
import { history } from './features/history.ts';
import { lang } from './features/lang.ts';
import { media } from './features/media.ts';
import { order } from './features/order.ts';
import { start } from './features/start.ts';
import { status } from './features/status.ts';
import { messages, type Lang } from '../i18n/index.ts';
import { i18n, ownCallbacksOnly, privateOnly, sessions, withDeps } from './middlewares/index.ts';
import { renderPreviewStrip } from '../cards/index.ts';

export type { BotDeps } from './context.ts';
export type NeurocardsBot = Bot<BotContext>;
export const DEFAULT_UPDATE_BUDGET_MS = 30_000;

export function createBot(deps: BotDeps): NeurocardsBot {
  const bot = new Bot<BotContext>(deps.token, {
    client: { apiRoot: deps.apiRoot.replace(/\/+$/, '') },
    ...(deps.botInfo ? { botInfo: deps.botInfo } : {}),
  });
  // The bot answers people: short 429s and 5xx are retried in-process.
  configureApi(bot.api, { throttle: deps.throttle, maxInlineRetrySeconds: 30, retryServerErrors: true, maxRetryAttempts: 5 });

  // First, so the budget starts when the update does and covers every later call.
  bot.use(telegramBudget({ budgetMs: deps.updateBudgetMs ?? DEFAULT_UPDATE_BUDGET_MS, log: deps.log, abandon: deps.abandon }));
  bot.use(privateOnly, withDeps(deps), sessions(deps.sessions), i18n, ownCallbacksOnly);
  bot.use(start, help, lang, status, cancel, history, admin, order, media);

  bot.catch(async (err: BotError<BotContext>) => {
    deps.log.error({ err: err.error instanceof Error ? err.error.message : String(err.error), update: err.ctx.update.update_id }, 'bot handler failed');
    const text = err.ctx.t?.error ?? messages('ru').error;
    if (err.ctx.callbackQuery) await err.ctx.answerCallbackQuery({ text }).catch(() => {});
    if (err.ctx.chat) await err.ctx.reply(text).catch(() => {});
  });
  return bot;
}

/** getMe, the command menu in both languages, and the template pictures warmed up. */
export async function initBot(bot: NeurocardsBot, log: BotDeps['log'], signal?: AbortSignal): Promise<void> {
  await bot.init(signal as never);
  for (const l of ['ru', 'en'] as Lang[]) {
    const c = messages(l).commands;
    const commands = Object.entries(c).map(([command, description]) => ({ command, description }));
    await bot.api.setMyCommands(commands, l === 'en' ? {} : { language_code: l }, signal as never)
      .catch((err) => log.warn({ err: (err as Error).message }, 'setMyCommands failed'));
  }
  void renderPreviewStrip('ru').then(() => renderPreviewStrip('en')).catch(() => {});
}
