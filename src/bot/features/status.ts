// /status: the user's open orders with their place in the queue.
import { Composer } from 'grammy';
import type { BotContext } from '../context.ts';

export const status = new Composer<BotContext>();

status.command('status', async (ctx) => {
  const open = await ctx.deps.orders.list(ctx.from!.id, 'open', 20);
  if (open.length === 0) return void (await ctx.reply(ctx.t.statusNone));
  const lines = open.reverse().map((o) =>
    o.status === 'queued' ? ctx.t.statusQueued(o.id, o.queue?.position ?? 1, o.queue?.estimate_seconds ?? 5)
      : o.status === 'rendering' ? ctx.t.statusRendering(o.id)
        : o.status === 'awaiting_choice' ? ctx.t.statusAwaiting(o.id) : ctx.t.statusRendered(o.id));
  await ctx.reply([ctx.t.statusHead, ...lines].join('\n'));
});
