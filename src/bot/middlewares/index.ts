// Middlewares: private chats only, deps on the context, Postgres-backed sessions
// (written before the bot's next outgoing call), language.
import type { MiddlewareFn } from 'grammy';
import type { BotSessionStore } from '../../db/bot-session.ts';
import type { BotContext, BotDeps, SessionData } from '../context.ts';
import { initialSession } from '../context.ts';
import { isLang, langFromTelegram, messages } from '../../i18n/index.ts';

export const privateOnly: MiddlewareFn<BotContext> = (ctx, next) =>
  ctx.from && (!ctx.chat || ctx.chat.type === 'private') ? next() : undefined;

export const withDeps = (deps: BotDeps): MiddlewareFn<BotContext> => (ctx, next) => {
  ctx.deps = deps;
  return next();
};

/**
 * Sessions in Postgres, written BEFORE the bot's first outgoing call that follows a
 * change (and at the end). grammY's session plugin writes only after the handler, i.e.
 * after the reply: the user could answer that reply so fast that the next update,
 * landing on another instance, reads the old step. Here the state is committed before
 * the user can see the question that leads to the next update.
 */
export const sessions = (store: Pick<BotSessionStore, 'sessionGet' | 'sessionPut'>): MiddlewareFn<BotContext> => async (ctx, next) => {
  const userId = ctx.from?.id;
  if (userId === undefined) return next();
  const stored = (await store.sessionGet(userId)) as SessionData | null;
  let saved = stored ? JSON.stringify(stored) : '';
  (ctx as { session: SessionData }).session = stored ?? initialSession();
  const flush = async () => {
    const now = JSON.stringify(ctx.session);
    if (now === saved) return;
    await store.sessionPut(userId, ctx.session);
    saved = now;
  };
  ctx.api.config.use(async (prev, method, payload, signal) => {
    await flush();
    return prev(method, payload, signal);
  });
  await next();
  await flush();
};

/**
 * A button press must come from the chat that holds the button: in a private chat the
 * chat id is the user's id. Anything else (a forged or replayed callback, a message
 * gone from the chat) is answered, so no spinner hangs, and otherwise ignored.
 */
export const ownCallbacksOnly: MiddlewareFn<BotContext> = async (ctx, next) => {
  const q = ctx.callbackQuery;
  if (q && (!q.message || q.message.chat.id !== q.from.id)) {
    await ctx.answerCallbackQuery({ text: ctx.t.outdated, show_alert: true }).catch(() => {});
    return;
  }
  return next();
};

export const i18n: MiddlewareFn<BotContext> = (ctx, next) => {
  const chosen = ctx.session.lang;
  ctx.lang = isLang(chosen) ? chosen : langFromTelegram(ctx.from?.language_code);
  ctx.t = messages(ctx.lang);
  return next();
};
