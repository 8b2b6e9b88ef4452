// /cancel: drops the card being put together; otherwise cancels an open order (asks
// which when there are several). A queued order never runs; one being rendered is
// not delivered (order_cancel cancels its jobs; delivery re-checks the order).
import { Composer } from 'grammy';
import type { BotContext } from '../context.ts';
import { cancelChoices } from '../keyboards/index.ts';

export const cancel = new Composer<BotContext>();

const hasDraft = (ctx: BotContext) => ctx.session.step !== 'idle' && !!ctx.session.draft.photoFileId;

async function cancelOrder(ctx: BotContext, id: number) {
  const r = await ctx.deps.orders.cancel(id, ctx.from!.id);
  if (r.result === 'canceled') {
    await ctx.reply(ctx.t.canceled(id));
    const ack = r.order?.ack_message_id;
    if (ack) await ctx.api.editMessageText(ctx.chat!.id, ack, ctx.t.canceledAck(id)).catch(() => {});
  } else if (r.result === 'not_open') await ctx.reply(ctx.t.cancelTooLate(id));
  else await ctx.reply(ctx.t.notYours);
}

cancel.command('cancel', async (ctx) => {
  if (hasDraft(ctx)) {
    ctx.session = { step: 'idle', draft: {}, ...(ctx.session.lang ? { lang: ctx.session.lang } : {}) };
    return void (await ctx.reply(ctx.t.draftCanceled));
  }
  const open = await ctx.deps.orders.list(ctx.from!.id, 'open', 20);
  if (open.length === 0) return void (await ctx.reply(ctx.t.cancelNone));
  if (open.length === 1) return cancelOrder(ctx, open[0].id);
  await ctx.reply(ctx.t.cancelWhich, { reply_markup: cancelChoices(open.reverse()) });
});

cancel.callbackQuery(/^oc:(\d+)$/, async (ctx) => {
  await ctx.answerCallbackQuery();
  await ctx.editMessageReplyMarkup().catch(() => {});
  await cancelOrder(ctx, Number(ctx.match[1]));
});

// The summary's Cancel button: forget the draft.
cancel.callbackQuery('cx', async (ctx) => {
  ctx.session = { step: 'idle', draft: {}, ...(ctx.session.lang ? { lang: ctx.session.lang } : {}) };
  await ctx.answerCallbackQuery();
  await ctx.editMessageReplyMarkup().catch(() => {});
  await ctx.reply(ctx.t.draftCanceled);
});
