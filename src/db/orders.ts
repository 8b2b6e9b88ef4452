// The order store: what the bot and the card jobs need of an order (confirm, progress,
// the stored photo and card, fenced delivery), each one catalog call over the RPC layer.
// Sessions, update dedupe and the polling leader are bot-session.ts; the shared rate
// limiter is rate-limit.ts.
import { fromBase64, type Rpc } from './rpc/index.ts';
import type { ConfirmResult, DeliveryBegin, Order, OrderStats, QueuePosition } from './rpc/results.ts';

export { OPEN_STATUSES } from './rpc/results.ts';
export type { ConfirmResult, DeliveryBegin, Order, OrderStats, OrderStatus, QueuePosition } from './rpc/results.ts';

export interface NewOrder {
  key: string;
  userId: number;
  chatId: number;
  lang: 'ru' | 'en';
  /** null: only look the key up (a stale summary, the draft is gone). */
  photoFileId: string | null;
  photoUniqueId?: string | null;
  title: string | null;
  features: string[];
  price?: string | null;
  template: string;
  parentId?: number | null;
  maxOpen: number;
  dailyQuota: number;
}

export class OrderStore {
  constructor(private readonly rpc: Rpc) {}
  get mode() { return this.rpc.mode; }

  confirm(o: NewOrder): Promise<ConfirmResult> {
    return this.rpc.call('order_confirm', { p: {
      key: o.key, user_id: o.userId, chat_id: o.chatId, lang: o.lang, photo_file_id: o.photoFileId,
      photo_unique_id: o.photoUniqueId ?? null, title: o.title, features: o.features, price: o.price ?? null,
      template: o.template, parent_id: o.parentId ?? null, max_open: o.maxOpen, daily_quota: o.dailyQuota,
    } });
  }
  get(id: number) { return this.rpc.call('order_get', { p_id: id }); }
  byKey(key: string) { return this.rpc.call('order_by_key', { p_key: key }); }
  list(userId: number, which: 'open' | 'history', limit = 10) {
    return this.rpc.call('order_list', { p_user: userId, p_which: which, p_limit: limit });
  }
  position(id: number): Promise<QueuePosition | null> { return this.rpc.call('order_position', { p_id: id }); }
  setAck(id: number, messageId: number) { return this.rpc.call('order_set_ack', { p_id: id, p_message_id: messageId }); }
  /** Permission to edit the ack message now (at most once per interval; 0 forces). */
  touchAck(id: number, minIntervalMs: number) {
    return this.rpc.call('order_ack_touch', { p_id: id, p_min_interval_ms: Math.round(minIntervalMs) });
  }
  cancel(id: number, userId: number) { return this.rpc.call('order_cancel', { p_id: id, p_user: userId }); }
  startRender(id: number) { return this.rpc.call('order_start_render', { p_id: id }); }
  /** Stores the card (null: stored already) and enqueues its delivery in one transaction. */
  rendered(id: number, card: { jpeg: Buffer; width: number; height: number } | null, renderMs: number | null): Promise<Order | null> {
    return this.rpc.call('order_rendered', {
      p_id: id, p_jpeg_b64: card?.jpeg ?? null, p_width: card?.width ?? null, p_height: card?.height ?? null,
      p_render_ms: renderMs == null ? null : Math.round(renderMs),
    });
  }
  async card(id: number) { return fromBase64(await this.rpc.call('order_card', { p_id: id })); }
  /** Keeps the seller's photo as checked at upload, so the render job need not download it again. */
  async photoPut(uniqueId: string, bytes: Buffer) { await this.rpc.call('order_photo_put', { p_unique_id: uniqueId, p_b64: bytes }); }
  /** The photo kept by photoPut; null when none (the render job downloads it then). */
  async photo(uniqueId: string) { return fromBase64(await this.rpc.call('order_photo', { p_unique_id: uniqueId })); }
  /**
   * Logs a send about to happen and returns the order as it is now. Fenced by the
   * deliver job's lease: `fenced` means this attempt no longer owns the job and must
   * not send.
   */
  deliveryBegin(id: number, part: 'photo' | 'document', attempt: number, worker: string, jobId: string): Promise<DeliveryBegin | null> {
    return this.rpc.call('order_delivery_begin', { p_id: id, p_part: part, p_attempt: attempt, p_worker: worker, p_job: jobId });
  }
  deliveryDone(id: number, part: 'photo' | 'document', messageId: number, fileId: string, answeredAt: Date) {
    return this.rpc.call('order_delivery_done', {
      p_id: id, p_part: part, p_message_id: messageId, p_file_id: fileId, p_answered_at: answeredAt,
    });
  }
  fail(id: number, status: 'failed' | 'undeliverable', error: string) {
    return this.rpc.call('order_fail', { p_id: id, p_status: status, p_error: error });
  }
  stats(): Promise<OrderStats> { return this.rpc.call('order_stats', {}); }
  /** Retention of the bot's tables (bot_prune: seen updates, kept photos, delivered cards' bytes). */
  prune() { return this.rpc.call('bot_prune', {}); }
}
