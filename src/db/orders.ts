// The order store: what the bot and the card jobs need of an order (confirm, progress,
// the stored photo, each generation stage's recorded output, the seller's pick, fenced
// delivery), each one catalog call over the RPC layer.
// Sessions, update dedupe and the polling leader are bot-session.ts; the shared rate
// limiter is rate-limit.ts.
import { fromBase64, type Rpc } from './rpc/index.ts';
import type { ConfirmResult, DeliveryBegin, Order, OrderStats, QueuePosition, StageImageRow } from './rpc/results.ts';

export { OPEN_STATUSES } from './rpc/results.ts';
export type { ChooseResult, ConfirmResult, DeliveryBegin, Order, OrderStats, OrderStatus, QueuePosition, RenderInput, SetInputRow } from './rpc/results.ts';

/** Delivery parts: the variants' album and buttons, then the set's album and zip. */
export type DeliveryPart = 'variants' | 'choice' | 'slides' | 'zip';
export interface StageImage { role: StageImageRow['role']; n: number; width: number; height: number; jpeg: Buffer }

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
  /** Default 'wb'. */
  marketplace?: 'wb' | 'ozon';
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
      template: o.template, marketplace: o.marketplace ?? 'wb', max_open: o.maxOpen, daily_quota: o.dailyQuota,
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
  /** queued → rendering, with the recorded cut-out (or the one made at upload) the job builds on. */
  startRender(id: number) { return this.rpc.call('order_start_render', { p_id: id }); }
  /** Records the cut-out stage once; `recorded: false` when an earlier attempt did. */
  cutoutDone(id: number, png: Buffer, framedReason: string | null, ms: number) {
    return this.rpc.call('order_cutout_done', { p_id: id, p_b64: png, p_framed_reason: framedReason, p_ms: Math.round(ms) });
  }
  /** Records the 3 variants once and enqueues their delivery in one transaction (→ awaiting_choice). */
  variantsDone(id: number, variants: Array<{ n: number; jpeg: Buffer; width: number; height: number }>, ms: number): Promise<Order | null> {
    return this.rpc.call('order_variants_done', {
      p_id: id, p_ms: Math.round(ms),
      p_variants: variants.map((v) => ({ n: v.n, jpeg_b64: v.jpeg.toString('base64'), width: v.width, height: v.height })),
    });
  }
  /** The seller's pick: idempotent for the same variant, 'conflict' for another one. */
  choose(id: number, userId: number, variant: number) {
    return this.rpc.call('order_choose', { p_id: id, p_user: userId, p_variant: variant });
  }
  setInput(id: number) { return this.rpc.call('order_set_input', { p_id: id }); }
  /** Records the (validated) set once and enqueues its delivery in one transaction (→ rendered). */
  setDone(id: number, slides: Array<{ role: string; jpeg: Buffer; width: number; height: number }>, ms: number): Promise<Order | null> {
    return this.rpc.call('order_set_done', {
      p_id: id, p_ms: Math.round(ms),
      p_slides: slides.map((s, i) => ({ role: s.role, n: i + 1, jpeg_b64: s.jpeg.toString('base64'), width: s.width, height: s.height })),
    });
  }
  /** The recorded pictures a delivery sends: the 3 variants or the set's slides, in order. */
  async images(id: number, stage: 'variants' | 'set'): Promise<StageImage[]> {
    const rows = await this.rpc.call('order_stage_images', { p_id: id, p_stage: stage });
    return rows.map((r) => ({ role: r.role, n: r.n, width: r.width, height: r.height, jpeg: Buffer.from(r.b64, 'base64') }));
  }
  /** Keeps the seller's photo as checked at upload, so the render job need not download it again. */
  async photoPut(uniqueId: string, bytes: Buffer) { await this.rpc.call('order_photo_put', { p_unique_id: uniqueId, p_b64: bytes }); }
  /** Keeps the cut-out made at upload (or the photo to frame and why) next to that photo. */
  async cutoutPut(uniqueId: string, png: Buffer, framedReason: string | null) {
    await this.rpc.call('order_cutout_put', { p_unique_id: uniqueId, p_b64: png, p_framed_reason: framedReason });
  }
  /** The photo kept by photoPut; null when none (the render job downloads it then). */
  async photo(uniqueId: string) { return fromBase64(await this.rpc.call('order_photo', { p_unique_id: uniqueId })); }
  /**
   * Logs a send about to happen and returns the order as it is now. Fenced by the
   * deliver job's lease: `fenced` means this attempt no longer owns the job and must
   * not send.
   */
  /** deadlineMs: by then this send is aborted and its answer committed (see order_delivery_begin). */
  deliveryBegin(id: number, part: DeliveryPart, attempt: number, worker: string, jobId: string, deadlineMs?: number): Promise<DeliveryBegin | null> {
    return this.rpc.call('order_delivery_begin', {
      p_id: id, p_part: part, p_attempt: attempt, p_worker: worker, p_job: jobId, p_deadline_ms: deadlineMs ?? null,
    });
  }
  /** The send begun by `attempt` ended with nothing to record: others need not wait for its deadline. */
  async deliveryEnd(id: number, part: DeliveryPart, attempt: number): Promise<void> {
    await this.rpc.call('order_delivery_end', { p_id: id, p_part: part, p_attempt: attempt });
  }
  deliveryDone(id: number, part: DeliveryPart, messageId: number, fileId: string, answeredAt: Date) {
    return this.rpc.call('order_delivery_done', {
      p_id: id, p_part: part, p_message_id: messageId, p_file_id: fileId, p_answered_at: answeredAt,
    });
  }
  fail(id: number, status: 'failed' | 'undeliverable', error: string) {
    return this.rpc.call('order_fail', { p_id: id, p_status: status, p_error: error });
  }
  stats(): Promise<OrderStats> { return this.rpc.call('order_stats', {}); }
  /** Retention of the bot's tables (bot_prune: seen updates, kept photos, finished orders' pictures). */
  prune() { return this.rpc.call('bot_prune', {}); }
}
