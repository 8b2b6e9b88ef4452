// prune-bot-tables: retention of the bot's tables (processed updates, quotas, rate
// usage, stale leader leases, card bytes of finished orders; see bot_prune()), run
// once per period as a queue job by the worker's Scheduler.
import type { OrderStore } from '../../db/orders.ts';
import { definePeriodicJob } from '../../worker/schedule.ts';

export function pruneBotTablesJob(orders: Pick<OrderStore, 'prune'>, everyMs: number) {
  return definePeriodicJob({
    kind: 'prune-bot-tables',
    everyMs,
    async run() {
      return { deleted: await orders.prune() };
    },
  });
}
