// The OrderStore port: what the bot and the card jobs need beyond the queue (orders,
// conversation sessions, update dedupe, the polling leader lease, the shared rate
// limiter). Every operation is one SQL function in supabase/migrations/2026112510*;
// the two transports (direct postgres.js and supabase-js RPC) only differ in how a
// function is called, so there is one implementation over an `Rpc` caller.

export type OrderStatus = 'queued' | 'rendering' | 'rendered' | 'sent' | 'canceled' | 'failed' | 'undeliverable';
export const OPEN_STATUSES: readonly OrderStatus[] = ['queued', 'rendering', 'rendered'];

export interface Order {
  id: number;
  idempotency_key: string;
  user_id: number;
  chat_id: number;
  lang: 'ru' | 'en';
  photo_file_id: string;
  photo_unique_id: string | null;
  title: string;
  features: string[];
  price: string | null;
  template: string;
  parent_id: number | null;
  status: OrderStatus;
  render_job_id: number | null;
  deliver_job_id: number | null;
  ack_message_id: number | null;
  ack_edited_at: string | null;
  photo_message_id: number | null;
  photo_out_file_id: string | null;
  document_message_id: number | null;
  document_file_id: string | null;
  render_ms: number | null;
  error: string | null;
  created_at: string;
  render_started_at: string | null;
  rendered_at: string | null;
  delivered_at: string | null;
}

export type DeliveryBegin = Order & { fenced?: true };

export interface QueuePosition {
  position: number;
  ahead: number;
  workers: number;
  estimate_seconds: number;
}

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

export type ConfirmResult =
  | { result: 'created' | 'exists'; order: Order; queue: QueuePosition | null; open?: number; used?: number }
  | { result: 'limit_open' | 'limit_daily'; open: number; used: number }
  | { result: 'missing' };

export interface OrderStats {
  today: number; sent: number; open: number; failed: number; undeliverable: number; canceled: number; users: number;
  render_ms_avg: number | null; delivered_p50_s: number | null; delivered_p95_s: number | null;
}

export interface OrderStore {
  readonly mode: 'direct' | 'rpc';
  confirm(o: NewOrder): Promise<ConfirmResult>;
  get(id: number): Promise<Order | null>;
  byKey(key: string): Promise<Order | null>;
  list(userId: number, which: 'open' | 'history', limit?: number): Promise<(Order & { queue?: QueuePosition | null })[]>;
  position(id: number): Promise<QueuePosition | null>;
  setAck(id: number, messageId: number): Promise<Order | null>;
  /** Permission to edit the ack message now (at most once per interval; 0 forces). */
  touchAck(id: number, minIntervalMs: number): Promise<Order | null>;
  cancel(id: number, userId: number): Promise<{ result: 'canceled' | 'not_open' | 'not_found'; order: Order | null }>;
  startRender(id: number): Promise<(Order & { has_card: boolean }) | null>;
  /** Stores the card (null: stored already) and enqueues its delivery in one transaction. */
  rendered(id: number, card: { jpeg: Buffer; width: number; height: number } | null, renderMs: number | null): Promise<Order | null>;
  card(id: number): Promise<Buffer | null>;
  /** Keeps the seller's photo as checked at upload, so the render job need not download it again. */
  photoPut(uniqueId: string, bytes: Buffer): Promise<void>;
  /** The photo kept by photoPut; null when none (the render job downloads it then). */
  photo(uniqueId: string): Promise<Buffer | null>;
  /**
   * Logs a send about to happen and returns the order as it is now. Fenced by the
   * deliver job's lease: `fenced` means this attempt no longer owns the job and must
   * not send.
   */
  deliveryBegin(id: number, part: 'photo' | 'document', attempt: number, worker: string, jobId: string): Promise<DeliveryBegin | null>;
  deliveryDone(id: number, part: 'photo' | 'document', messageId: number, fileId: string, answeredAt: Date): Promise<Order | null>;
  fail(id: number, status: 'failed' | 'undeliverable', error: string): Promise<Order | null>;
  stats(): Promise<OrderStats>;

  sessionGet(userId: number): Promise<unknown>;
  sessionPut(userId: number, data: unknown): Promise<void>;
  sessionDelete(userId: number): Promise<void>;
  /** true the first time an update_id is seen. */
  claimUpdate(updateId: number): Promise<boolean>;
  releaseUpdate(updateId: number): Promise<void>;
  leaderTry(name: string, holder: string, ttlSeconds: number): Promise<boolean>;
  leaderRelease(name: string, holder: string): Promise<void>;
  rateTake(key: string, cost?: number): Promise<{ ok: boolean; retry_in_ms?: number }>;
  rateSet(key: string, windowSeconds: number, maxCalls: number): Promise<void>;
  prune(): Promise<number>;
}

/** Postgres types of each function's parameters, in order (the direct adapter casts to them). */
export const SIGNATURES = {
  order_confirm: { p: 'jsonb' },
  order_get: { p_id: 'bigint' },
  order_by_key: { p_key: 'text' },
  order_list: { p_user: 'bigint', p_which: 'text', p_limit: 'integer' },
  order_position: { p_id: 'bigint' },
  order_set_ack: { p_id: 'bigint', p_message_id: 'bigint' },
  order_ack_touch: { p_id: 'bigint', p_min_interval_ms: 'integer' },
  order_cancel: { p_id: 'bigint', p_user: 'bigint' },
  order_start_render: { p_id: 'bigint' },
  order_rendered: { p_id: 'bigint', p_jpeg_b64: 'text', p_width: 'integer', p_height: 'integer', p_render_ms: 'integer' },
  order_card: { p_id: 'bigint' },
  order_photo_put: { p_unique_id: 'text', p_b64: 'text' },
  order_photo: { p_unique_id: 'text' },
  order_delivery_begin: { p_id: 'bigint', p_part: 'text', p_attempt: 'integer', p_worker: 'text', p_job: 'bigint' },
  order_delivery_done: { p_id: 'bigint', p_part: 'text', p_message_id: 'bigint', p_file_id: 'text', p_answered_at: 'timestamptz' },
  order_fail: { p_id: 'bigint', p_status: 'text', p_error: 'text' },
  order_stats: {},
  bot_session_get: { p_user: 'bigint' },
  bot_session_put: { p_user: 'bigint', p_data: 'jsonb' },
  bot_session_delete: { p_user: 'bigint' },
  update_claim: { p_update_id: 'bigint' },
  update_release: { p_update_id: 'bigint' },
  leader_try: { p_name: 'text', p_holder: 'text', p_ttl_seconds: 'integer' },
  leader_release: { p_name: 'text', p_holder: 'text' },
  rate_take: { p_key: 'text', p_cost: 'integer' },
  rate_set: { p_key: 'text', p_window_seconds: 'integer', p_max_calls: 'integer' },
  bot_prune: {},
} as const satisfies Record<string, Record<string, string>>;

export type RpcName = keyof typeof SIGNATURES;
export type RpcArgs<F extends RpcName> = { [K in keyof (typeof SIGNATURES)[F]]: unknown };

/** Calls one SQL function by name with named arguments; returns its (single) result. */
export interface Rpc {
  readonly mode: 'direct' | 'rpc';
  call<T>(fn: RpcName, args: Record<string, unknown>): Promise<T>;
}

export class SqlOrderStore implements OrderStore {
  constructor(private readonly rpc: Rpc) {}
  get mode() { return this.rpc.mode; }

  private call<T, F extends RpcName = RpcName>(fn: F, args: RpcArgs<F>): Promise<T> {
    return this.rpc.call<T>(fn, args as Record<string, unknown>);
  }

  confirm(o: NewOrder) {
    return this.call<ConfirmResult>('order_confirm', { p: {
      key: o.key, user_id: o.userId, chat_id: o.chatId, lang: o.lang, photo_file_id: o.photoFileId,
      photo_unique_id: o.photoUniqueId ?? null, title: o.title, features: o.features, price: o.price ?? null,
      template: o.template, parent_id: o.parentId ?? null, max_open: o.maxOpen, daily_quota: o.dailyQuota,
    } });
  }
  get(id: number) { return this.call<Order | null>('order_get', { p_id: id }); }
  byKey(key: string) { return this.call<Order | null>('order_by_key', { p_key: key }); }
  list(userId: number, which: 'open' | 'history', limit = 10) {
    return this.call<(Order & { queue?: QueuePosition | null })[]>('order_list', { p_user: userId, p_which: which, p_limit: limit });
  }
  position(id: number) { return this.call<QueuePosition | null>('order_position', { p_id: id }); }
  setAck(id: number, messageId: number) { return this.call<Order | null>('order_set_ack', { p_id: id, p_message_id: messageId }); }
  touchAck(id: number, minIntervalMs: number) {
    return this.call<Order | null>('order_ack_touch', { p_id: id, p_min_interval_ms: Math.round(minIntervalMs) });
  }
  cancel(id: number, userId: number) {
    return this.call<{ result: 'canceled' | 'not_open' | 'not_found'; order: Order | null }>('order_cancel', { p_id: id, p_user: userId });
  }
  startRender(id: number) { return this.call<(Order & { has_card: boolean }) | null>('order_start_render', { p_id: id }); }
  rendered(id: number, card: { jpeg: Buffer; width: number; height: number } | null, renderMs: number | null) {
    return this.call<Order | null>('order_rendered', {
      p_id: id, p_jpeg_b64: card ? card.jpeg.toString('base64') : null,
      p_width: card?.width ?? null, p_height: card?.height ?? null, p_render_ms: renderMs == null ? null : Math.round(renderMs),
    });
  }
  async card(id: number) {
    const b64 = await this.call<string | null>('order_card', { p_id: id });
    return b64 ? Buffer.from(b64, 'base64') : null;
  }
  async photoPut(uniqueId: string, bytes: Buffer) {
    await this.call('order_photo_put', { p_unique_id: uniqueId, p_b64: bytes.toString('base64') });
  }
  async photo(uniqueId: string) {
    const b64 = await this.call<string | null>('order_photo', { p_unique_id: uniqueId });
    return b64 ? Buffer.from(b64, 'base64') : null;
  }
  deliveryBegin(id: number, part: 'photo' | 'document', attempt: number, worker: string, jobId: string) {
    return this.call<DeliveryBegin | null>('order_delivery_begin', { p_id: id, p_part: part, p_attempt: attempt, p_worker: worker, p_job: jobId });
  }
  deliveryDone(id: number, part: 'photo' | 'document', messageId: number, fileId: string, answeredAt: Date) {
    return this.call<Order | null>('order_delivery_done', {
      p_id: id, p_part: part, p_message_id: messageId, p_file_id: fileId, p_answered_at: answeredAt.toISOString(),
    });
  }
  fail(id: number, status: 'failed' | 'undeliverable', error: string) {
    return this.call<Order | null>('order_fail', { p_id: id, p_status: status, p_error: error });
  }
  stats() { return this.call<OrderStats>('order_stats', {}); }

  sessionGet(userId: number) { return this.call<unknown>('bot_session_get', { p_user: userId }); }
  async sessionPut(userId: number, data: unknown) { await this.call('bot_session_put', { p_user: userId, p_data: data }); }
  async sessionDelete(userId: number) { await this.call('bot_session_delete', { p_user: userId }); }
  claimUpdate(updateId: number) { return this.call<boolean>('update_claim', { p_update_id: updateId }); }
  async releaseUpdate(updateId: number) { await this.call('update_release', { p_update_id: updateId }); }
  leaderTry(name: string, holder: string, ttlSeconds: number) {
    return this.call<boolean>('leader_try', { p_name: name, p_holder: holder, p_ttl_seconds: ttlSeconds });
  }
  async leaderRelease(name: string, holder: string) { await this.call('leader_release', { p_name: name, p_holder: holder }); }
  rateTake(key: string, cost = 1) { return this.call<{ ok: boolean; retry_in_ms?: number }>('rate_take', { p_key: key, p_cost: cost }); }
  async rateSet(key: string, windowSeconds: number, maxCalls: number) {
    await this.call('rate_set', { p_key: key, p_window_seconds: windowSeconds, p_max_calls: maxCalls });
  }
  prune() { return this.call<number>('bot_prune', {}); }
}
