// /lang: Russian or English. The choice is kept in the session; until then the
// user's Telegram language decides.
import { Composer } from 'grammy';
import type { BotContext } from '../context.ts';
import { messages, type Lang } from '../../i18n/index.ts';
import { langs } from '../keyboards/index.ts';

export const lang = new Composer<BotContext>();

lang.command('lang', (ctx) => ctx.reply(ctx.t.chooseLang, { reply_markup: langs() }));

lang.callbackQuery(/^lang:(ru|en)$/, async (ctx) => {
  const l = ctx.match[1] as Lang;
  ctx.session.lang = l;
  ctx.lang = l;
  ctx.t = messages(l);
  await ctx.answerCallbackQuery();
  await ctx.editMessageText(ctx.t.langSet).catch(() => ctx.reply(ctx.t.langSet));
});
