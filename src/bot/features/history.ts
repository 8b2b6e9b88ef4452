// /history: the last 10 delivered sets; a tap sends one again by Telegram file_id (no
// re-render, no re-upload): the main picture and the zip of full-resolution files.
import { Composer } from 'grammy';
import { cardKeyboard } from '../../telegram/callbacks.ts';
import type { BotContext } from '../context.ts';
import { messages } from '../../i18n/index.ts';
import { history as historyKeyboard } from '../keyboards/index.ts';

export const history = new Composer<BotContext>();

history.command('history', async (ctx) => {
  const list = await ctx.deps.orders.list(ctx.from!.id, 'history', 10);
  if (list.length === 0) return void (await ctx.reply(ctx.t.historyNone));
  await ctx.reply(ctx.t.historyHead, { reply_markup: historyKeyboard(list) });
});

history.callbackQuery(/^re:(\d+)$/, async (ctx) => {
  const o = await ctx.deps.orders.get(Number(ctx.match[1]));
  if (!o || o.user_id !== ctx.from.id || !o.photo_out_file_id || !o.document_file_id) {
    return void (await ctx.answerCallbackQuery({ text: ctx.t.resendGone }));
  }
  await ctx.answerCallbackQuery();
  const t = messages(ctx.lang);
  await ctx.replyWithPhoto(o.photo_out_file_id, { caption: t.cardCaption(o.id, o.title).slice(0, 1024) });
  await ctx.replyWithDocument(o.document_file_id, { caption: t.zipCaption, reply_markup: cardKeyboard({ newCard: t.newCard }) });
});
