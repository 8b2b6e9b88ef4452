// Middlewares: private chats only, deps on the context, Postgres-backed sessions
// (grammY's session plugin with our storage adapter), language.
import { session, type MiddlewareFn, type StorageAdapter } from 'grammy';
import type { OrderStore } from '../../db/orders.ts';
import type { BotContext, BotDeps, SessionData } from '../context.ts';
import { initialSession } from '../context.ts';
import { isLang, langFromTelegram, messages } from '../i18n/index.ts';

/** Conversation state lives in Postgres: survives restarts, works across instances. */
export function postgresSessionStorage(orders: OrderStore): StorageAdapter<SessionData> {
  return {
    read: async (key) => ((await orders.sessionGet(Number(key))) as SessionData | null) ?? undefined,
    write: (key, value) => orders.sessionPut(Number(key), value),
    delete: (key) => orders.sessionDelete(Number(key)),
  };
}

export const privateOnly: MiddlewareFn<BotContext> = (ctx, next) =>
  ctx.from && (!ctx.chat || ctx.chat.type === 'private') ? next() : undefined;

export const withDeps = (deps: BotDeps): MiddlewareFn<BotContext> => (ctx, next) => {
  ctx.deps = deps;
  return next();
};

export const sessions = (orders: OrderStore) => session<SessionData, BotContext>({
  initial: initialSession,
  getSessionKey: (ctx) => ctx.from?.id.toString(),
  storage: postgresSessionStorage(orders),
});

export const i18n: MiddlewareFn<BotContext> = (ctx, next) => {
  const chosen = ctx.session.lang;
  ctx.lang = isLang(chosen) ? chosen : langFromTelegram(ctx.from?.language_code);
  ctx.t = messages(ctx.lang);
  return next();
};
