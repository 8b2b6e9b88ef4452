// One time budget for all the Telegram calls of one update (TELEGRAM_UPDATE_BUDGET_MS),
// retries, 429 waits and throttling included. grammY's auto-retry alone waits out 5xx
// for minutes and retries network errors without limit; past the budget every call of
// the update fails at once, so the handler ends, bot.catch logs it, and nothing retries
// the update. `abandon` (a shutdown past its grace) ends the calls the same way.
import type { Context, MiddlewareFn } from 'grammy';
import type { Logger } from '../log.ts';

export class TelegramBudgetError extends Error {
  constructor(readonly method: string, readonly why: 'budget' | 'shutdown', budgetMs: number) {
    super(why === 'budget'
      ? `${method}: the update's Telegram calls took more than ${budgetMs} ms (TELEGRAM_UPDATE_BUDGET_MS); update given up`
      : `${method}: abandoned at shutdown`);
    this.name = 'TelegramBudgetError';
  }
}

export function telegramBudget(o: { budgetMs: number; log: Logger; abandon?: AbortSignal }): MiddlewareFn<Context> {
  return async (ctx, next) => {
    const deadline = Date.now() + o.budgetMs;
    let told = false;
    const giveUp = (method: string, why: 'budget' | 'shutdown') => {
      if (!told) {
        told = true;
        o.log.warn({ update: ctx.update.update_id, method, budgetMs: o.budgetMs },
          why === 'budget' ? 'Telegram calls over the update budget; update given up' : 'update abandoned at shutdown');
      }
      return new TelegramBudgetError(method, why, o.budgetMs);
    };
    ctx.api.config.use(async (prev, method, payload, signal) => {
      const left = deadline - Date.now();
      if (o.abandon?.aborted) throw giveUp(method, 'shutdown');
      if (left <= 0) throw giveUp(method, 'budget');
      const ours = new AbortController();
      const timer = setTimeout(() => ours.abort('budget'), left);
      const onAbandon = () => ours.abort('shutdown');
      o.abandon?.addEventListener('abort', onAbandon, { once: true });
      let onOurs!: () => void;
      // Not every layer below listens to the signal (the throttler's queue does not): race it.
      const over = new Promise<never>((_, reject) => {
        onOurs = () => reject(giveUp(method, ours.signal.reason === 'shutdown' ? 'shutdown' : 'budget'));
        ours.signal.addEventListener('abort', onOurs, { once: true });
      });
      try {
        // (grammY types signals with the abort-controller shim; at run time they are Node's.)
        const both = signal ? AbortSignal.any([signal as unknown as AbortSignal, ours.signal]) : ours.signal;
        return await Promise.race([prev(method, payload, both as never), over]);
      } finally {
        clearTimeout(timer);
        o.abandon?.removeEventListener('abort', onAbandon);
        ours.signal.removeEventListener('abort', onOurs);
      }
    });
    await next();
  };
}
