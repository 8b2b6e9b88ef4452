// What the card jobs need: the order store, a Telegram Api (retry/throttle plugins
// installed, 429s longer than a moment thrown so the queue reschedules), where to
// download photos from, and where variants' backdrops come from. Built once in
// compose-telegram.ts.
import type { Api } from 'grammy';
import type { CopyProvider } from '../../ai/provider.ts';
import type { BackdropSource, SetComposer } from '../../cards/index.ts';
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
  /**
   * The backdrops of one order's variants (`order:<id>`: the AI's paid calls are keyed by
   * it, so a retry never pays twice); absent = the designed local backdrops.
   */
  backdropsFor?: ((orderKey: string) => BackdropSource) | null;
  /** A delivery send is aborted after this (TELEGRAM_SEND_DEADLINE_MS; deliver-card's header). */
  sendDeadlineMs?: number;
  /** Composes a set's slides (tests replace it to prove a violating slide is never delivered). */
  compose?: SetComposer;
}

/** The stages the "queued" message goes through: cut-out → variants ready → set being made → delivered. */
export type AckState = 'rendering' | 'cutout' | 'variants' | 'set' | 'sent' | 'failed';

function ackText(order: Order, state: AckState): string {
  const t = messages(order.lang);
  switch (state) {
    case 'rendering': return t.rendering(order.id);
    case 'cutout': return t.cutoutDone(order.id);
    case 'variants': return t.variantsReady(order.id);
    case 'set': return t.makingSet(order.id, order.choice ?? 1);
    case 'sent': return t.sent(order.id);
    case 'failed': return t.failedAck(order.id);
  }
}

/** Edits the order's "queued" message, at most once per interval (0 = always). Never throws. */
export async function editAck(d: CardJobDeps, order: Order, state: AckState, minIntervalMs: number, log: Logger) {
  // No early return on a snapshot without ack_message_id: the bot may have recorded its
  // answer since the job read the order (order_ack_touch reads the row as it is now).
  try {
    const touched = await d.orders.touchAck(order.id, minIntervalMs);
    if (!touched?.ack_message_id) return;
    await d.api.editMessageText(order.chat_id, touched.ack_message_id, ackText(order, state));
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
