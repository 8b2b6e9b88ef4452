// /stats for ADMIN_IDS: the /queue figures plus today's orders. Others get /help.
import { Composer } from 'grammy';
import type { BotContext } from '../context.ts';

export const admin = new Composer<BotContext>();

admin.command('stats', async (ctx) => {
  if (!ctx.deps.adminIds.includes(ctx.from!.id)) return void (await ctx.reply(ctx.t.help));
  const [q, o, ai] = await Promise.all([ctx.deps.queueStats(), ctx.deps.orders.stats(), ctx.deps.aiCost?.().catch(() => null)]);
  const text = ctx.t.stats({
    queued: q.queued, running: q.running, scheduled: q.scheduled, dead: q.dead,
    workers: q.instances.length, oldest: Math.round(q.oldestQueuedSeconds),
    succeeded: q.last24h.succeeded, failed: q.last24h.failed,
    avg: q.last24h.avgSeconds ?? '—', p95: q.last24h.p95Seconds ?? '—',
    today: o.today, sent: o.sent, open: o.open, failedOrders: o.failed, undeliverable: o.undeliverable,
    users: o.users, renderMs: o.render_ms_avg ?? '—', p50: o.delivered_p50_s ?? '—', p95d: o.delivered_p95_s ?? '—',
  });
  const usd = (v: unknown) => (v == null ? '—' : `$${Number(v).toFixed(4)}`);
  await ctx.reply(ai ? `${text}\n${ctx.t.statsAi({ total: usd(ai.total_usd), orders: Number(ai.orders), avg: usd(ai.avg_per_order_usd), calls: Number(ai.paid_calls) })}` : text);
});
