// What the card jobs need: the order store, a Telegram Api (retry/throttle plugins
// installed, 429s longer than a moment thrown so the queue reschedules), and where
// to download photos from. Built once in compose-telegram.ts.
import type { Api } from 'grammy';
import type { CopyProvider } from '../../ai/provider.ts';
import type { Order, OrderStore } from '../../db/orders.ts';
import type { Logger } from '../../log.ts';
import { messages } from '../../i18n/index.ts';

export interface CardJobDeps {
  orders: OrderStore;
  api: Api;
  token: string;
  apiRoot: string;
  workerId: string;
  maxPhotoBytes: number;
  /** Minimum time between two edits of an order's status message. */
  ackEditIntervalMs?: number;
  /** Optional AI copywriter (OPENROUTER_API_KEY); absent = the seller's words, no network. */
  copy?: CopyProvider | null;
}

export type AckState = 'rendering' | 'sent' | 'failed';

/** Edits the order's "queued" message, at most once per interval (0 = always). Never throws. */
export async function editAck(d: CardJobDeps, order: Order, state: AckState, minIntervalMs: number, log: Logger) {
  if (!order.ack_message_id) return;
  try {
    const touched = await d.orders.touchAck(order.id, minIntervalMs);
    if (!touched?.ack_message_id) return;
    const t = messages(order.lang);
    const text = state === 'rendering' ? t.rendering(order.id) : state === 'sent' ? t.sent(order.id) : t.failedAck(order.id);
    await d.api.editMessageText(order.chat_id, touched.ack_message_id, text);
  } catch (err) {
    log.debug({ err: (err as Error).message, orderId: order.id }, 'status message not edited');
  }
}

/** Tells the user, best effort. */
export async function notify(d: CardJobDeps, order: Order, text: string, log: Logger) {
  try {
    await d.api.sendMessage(order.chat_id, text);
  } catch (err) {
    log.warn({ err: (err as Error).message, orderId: order.id }, 'could not notify the user');
  }
}
