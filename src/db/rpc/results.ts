// What the product's SQL functions return (the queue's rows are in ../store.ts). Kept
// apart from the stores so the catalog (./catalog.ts) can name every result type
// without importing a store.

export type OrderStatus = 'queued' | 'rendering' | 'awaiting_choice' | 'rendered' | 'sent' | 'canceled' | 'failed' | 'undeliverable';
export const OPEN_STATUSES: readonly OrderStatus[] = ['queued', 'rendering', 'awaiting_choice', 'rendered'];

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
  marketplace: 'wb' | 'ozon';
  /** The variant the seller picked (1-3). */
  choice: number | null;
  framed_reason: string | null;
  cutout_at: string | null;
  variants_at: string | null;
  set_at: string | null;
  set_job_id: number | null;
  set_deliver_job_id: number | null;
  variants_message_id: number | null;
  choice_message_id: number | null;
  timings: Record<string, number>;
}

/** order_start_render: the order plus what the cut-out/variants job still has to do. */
export type RenderInput = Order & {
  cut: boolean; variants_done: boolean; cutout_b64: string | null;
  upload_cutout_b64: string | null; upload_framed_reason: string | null;
};
export type SetInputRow = Order & { set_done: boolean; cutout_b64: string | null; variant_b64: string | null };
export interface StageImageRow { role: 'variant' | 'main' | 'infographic' | 'detail'; n: number; width: number; height: number; b64: string }
export type ChooseResult = { result: 'ok' | 'conflict' | 'not_ready' | 'closed'; choice: number | null; order: Order };

/** fenced: this attempt no longer holds the job; done: the part is committed already;
 *  wait_until: another attempt may still be sending the part until then. */
export type DeliveryBegin = Order & { fenced?: true; done?: true; wait_until?: string };

export interface QueuePosition {
  position: number;
  ahead: number;
  workers: number;
  estimate_seconds: number;
}

export type ConfirmResult =
  | { result: 'created' | 'exists'; order: Order; queue: QueuePosition | null; open?: number; used?: number }
  | { result: 'limit_open' | 'limit_daily'; open: number; used: number }
  | { result: 'missing' };

export interface OrderStats {
  today: number; sent: number; open: number; failed: number; undeliverable: number; canceled: number; users: number;
  render_ms_avg: number | null; delivered_p50_s: number | null; delivered_p95_s: number | null;
}

export interface RateTake { ok: boolean; retry_in_ms?: number }

// The AI stage's (src/ai) results: the key pool and the paid-call ledger.
export type AiKeyTake = { ok: true; key_id: string } | { ok: false; retry_in_ms: number };
export type AiCallClaim =
  | { state: 'done'; image_b64: string | null; cost_usd: number | string }
  | { state: 'failed'; outcome: string | null }
  | { state: 'busy'; retry_in_ms: number }
  | { state: 'claimed'; claims: number };
export interface AiCostStats {
  total_usd: number | string; orders: number; avg_per_order_usd: number | string | null; paid_calls: number; calls: number;
}

// The HTTP API's (src/api) rows.
export interface KeyRow {
  id: number; name: string; prefix: string; rate_per_minute: number; daily_quota: number;
  created_at: string; last_used_at?: string | null; revoked_at: string | null; cards_today?: number;
}
export type AuthResult =
  | { result: 'ok'; key_id: number }
  | { result: 'unknown' }
  | { result: 'revoked'; key_id: number }
  | { result: 'limited'; key_id: number; retry_after: number };
export interface CardInputJson { title: string; features: string[]; price: string | null; template: string; marketplace?: string; variant?: number | null }
export type CreateResult =
  | { result: 'created' | 'exists'; id: number; status: string; position: number | null; estimated_seconds: number | null }
  | { result: 'quota'; limit: number; retry_after: number };
export interface CardRow {
  id: number; status: string; created_at: string; started_at: string | null; completed_at: string | null;
  attempts: number; error: string | null; template: string;
  marketplace: string; choice: number | null; framed_reason: string | null; timings: Record<string, number>;
  /** When an awaiting_choice card expires (7 days after its variants); null once chosen or before the variants. */
  choice_expires_at: string | null;
  variants: Array<{ n: number; width: number; height: number }>;
  slides: Array<{ role: string; n: number; width: number; height: number }>;
  /** While the card's current job is queued or running (job_eta). */
  eta: JobEta | null;
}
/** job_eta(): place in the queue and an estimate from the kind's measured p50. */
export interface JobEta {
  kind: string; status: string; position: number | null; ahead: number; slots: number;
  p50_ms: number; measured: boolean; estimate_seconds: number | null;
}
/** The words and marketplace of an API card, and the stage state its jobs read. */
interface ApiCardWords { title: string; features: string[]; price: string | null; template: string; marketplace: string; choice: number | null; framed_reason: string | null; stored: boolean }
export interface ApiCardInputRow extends ApiCardWords { cut: boolean; variants_done: boolean; photo_b64: string | null; cutout_b64: string | null }
export interface ApiCardSetInputRow extends ApiCardWords { set_done: boolean; cutout_b64: string | null; variant_b64: string | null; main_b64: string | null }
export interface StatsRow { day: string; status: string; count: number; avg_seconds: number | null; p95_seconds: number | null }
