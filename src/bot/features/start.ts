// /start: greet in two lines and wait for a product photo. Also the "New card" button.
import { Composer } from 'grammy';
import { CARD_CALLBACKS } from '../../telegram/callbacks.ts';
import type { BotContext } from '../context.ts';

export const start = new Composer<BotContext>();

const fresh = (ctx: BotContext) => {
  ctx.session = { step: 'photo', draft: {}, ...(ctx.session.lang ? { lang: ctx.session.lang } : {}) };
};

start.command('start', async (ctx) => {
  fresh(ctx);
  await ctx.reply(ctx.t.start(ctx.from?.first_name ?? ''));
});

start.callbackQuery(CARD_CALLBACKS.newCard, async (ctx) => {
  fresh(ctx);
  await ctx.answerCallbackQuery();
  await ctx.reply(ctx.t.askPhoto);
});
