// The one list of the SQL functions the app calls: name, arguments (names and SQL types,
// in declaration order) and result (TypeScript type and how Postgres returns it). Both
// transports (./postgres.ts, ./supabase.ts) and every store go through it, and
// test/rpc-catalog.test.ts proves it matches supabase/schemas, so a function changed on
// one side only fails there.
//
// An argument type ending in `?` has a default in SQL and may be left out. `base64` is
// SQL `text` carrying bytes: stores pass a Buffer, the transport sends its base64 once
// (or a string that already is base64, e.g. an AI answer as received, sent as is)
// (the smallest text form both transports carry: PostgREST speaks JSON, postgres.js sends
// parameters as text, where a bytea would travel as hex, twice the size).
import type { HistoryRowRaw, JobRow, JobStatus, QueueStats } from '../store.ts';
import type {
  AiCallClaim, AiCostStats, AiKeyTake, ApiCardInputRow, ApiCardSetInputRow, AuthResult, CardRow, ChooseResult, ConfirmResult, CreateResult, DeliveryBegin, JobEta, KeyRow, Order,
  OrderStats, QueuePosition, RateTake, RenderInput, SetInputRow, StageImageRow, StatsRow,
} from './results.ts';

export type SqlType = 'text' | 'base64' | 'integer' | 'bigint' | 'boolean' | 'jsonb' | 'timestamptz' | 'bigint[]' | 'integer[]';
type ArgType = SqlType | `${SqlType}?`;

/**
 * How the function returns: `value` one value (scalar, jsonb, void); `rows` a set of rows
 * (setof a table, returns table(...)); `values` a set of scalars.
 */
export type Returns = 'value' | 'rows' | 'values';

export interface FnDef<A extends Record<string, ArgType> = Record<string, ArgType>, R = unknown> {
  readonly args: A;
  readonly returns: Returns;
  /** Phantom: the TypeScript type of the result (an array for `rows` and `values`). */
  readonly result?: R;
}

const fn = <R>() => <const A extends Record<string, ArgType>>(args: A, returns: Returns = 'value'): FnDef<A, R> => ({ args, returns });

type Bigint = number | string;
type Void = null;

export const CATALOG = {
  // queue (supabase/schemas/queue)
  enqueue: fn<JobRow[]>()({ p_jobs: 'jsonb', p_fair_slot_ms: 'integer?' }, 'rows'),
  claim: fn<JobRow[]>()({ p_worker: 'text', p_limit: 'integer', p_lease_seconds: 'integer' }, 'rows'),
  complete: fn<Bigint[]>()({ p_worker: 'text', p_ids: 'bigint[]', p_attempts: 'integer[]', p_results: 'jsonb?' }, 'values'),
  fail: fn<{ status: JobStatus; run_at: string | Date }[]>()(
    { p_worker: 'text', p_id: 'bigint', p_attempt: 'integer', p_error: 'text', p_retry_in_ms: 'integer' }, 'rows'),
  release: fn<number>()({ p_worker: 'text', p_ids: 'bigint[]' }),
  heartbeat: fn<{ id: Bigint; canceled: boolean }[]>()({
    p_worker: 'text', p_concurrency: 'integer', p_in_flight: 'integer', p_lease_seconds: 'integer', p_meta: 'jsonb', p_ids: 'bigint[]',
  }, 'rows'),
  worker_leave: fn<Void>()({ p_worker: 'text' }),
  job_eta: fn<JobEta | null>()({ p_job_id: 'bigint', p_default_ms: 'integer?' }),
  stats: fn<QueueStats>()({}),
  get_job: fn<JobRow[]>()({ p_id: 'bigint' }, 'rows'),
  prune: fn<number>()({ p_succeeded_hours: 'integer?', p_failed_days: 'integer?', p_limit: 'integer?' }),
  schema_version: fn<string | null>()({}),
  // ops (supabase/schemas/ops)
  retry_job: fn<JobRow[]>()({ p_id: 'bigint' }, 'rows'),
  cancel_job: fn<JobRow[]>()({ p_id: 'bigint' }, 'rows'),
  requeue_dead: fn<number>()({ p_kind: 'text?', p_limit: 'integer?' }),
  list_jobs: fn<JobRow[]>()({ p_status: 'text', p_kind: 'text?', p_limit: 'integer?' }, 'rows'),
  job_history: fn<HistoryRowRaw[]>()({ p_minutes: 'integer?' }, 'rows'),
  // orders (supabase/schemas/orders)
  order_confirm: fn<ConfirmResult>()({ p: 'jsonb' }),
  order_get: fn<Order | null>()({ p_id: 'bigint' }),
  order_by_key: fn<Order | null>()({ p_key: 'text' }),
  order_list: fn<(Order & { queue?: QueuePosition | null })[]>()({ p_user: 'bigint', p_which: 'text', p_limit: 'integer?' }),
  order_position: fn<QueuePosition | null>()({ p_id: 'bigint' }),
  order_set_ack: fn<Order | null>()({ p_id: 'bigint', p_message_id: 'bigint' }),
  order_ack_touch: fn<Order | null>()({ p_id: 'bigint', p_min_interval_ms: 'integer' }),
  order_cancel: fn<{ result: 'canceled' | 'not_open' | 'not_found'; order: Order | null }>()({ p_id: 'bigint', p_user: 'bigint' }),
  order_start_render: fn<RenderInput | null>()({ p_id: 'bigint' }),
  order_cutout_done: fn<{ recorded: boolean } | null>()({ p_id: 'bigint', p_b64: 'base64', p_framed_reason: 'text', p_ms: 'integer' }),
  order_variants_done: fn<Order | null>()({ p_id: 'bigint', p_variants: 'jsonb', p_ms: 'integer' }),
  order_choose: fn<ChooseResult | null>()({ p_id: 'bigint', p_user: 'bigint', p_variant: 'integer' }),
  order_set_input: fn<SetInputRow | null>()({ p_id: 'bigint' }),
  order_set_done: fn<Order | null>()({ p_id: 'bigint', p_slides: 'jsonb', p_ms: 'integer' }),
  order_stage_images: fn<StageImageRow[]>()({ p_id: 'bigint', p_stage: 'text' }),
  order_photo_put: fn<Void>()({ p_unique_id: 'text', p_b64: 'base64' }),
  order_cutout_put: fn<Void>()({ p_unique_id: 'text', p_b64: 'base64', p_framed_reason: 'text' }),
  order_photo: fn<string | null>()({ p_unique_id: 'text' }),
  order_delivery_begin: fn<DeliveryBegin | null>()({
    p_id: 'bigint', p_part: 'text', p_attempt: 'integer', p_worker: 'text', p_job: 'bigint?', p_deadline_ms: 'integer?',
  }),
  order_delivery_end: fn<Void>()({ p_id: 'bigint', p_part: 'text', p_attempt: 'integer' }),
  order_delivery_done: fn<Order | null>()({
    p_id: 'bigint', p_part: 'text', p_message_id: 'bigint', p_file_id: 'text', p_answered_at: 'timestamptz',
  }),
  order_fail: fn<Order | null>()({ p_id: 'bigint', p_status: 'text', p_error: 'text' }),
  order_stats: fn<OrderStats>()({}),
  // the bot's own tables (supabase/schemas/bot)
  bot_session_get: fn<unknown>()({ p_user: 'bigint' }),
  bot_session_put: fn<Void>()({ p_user: 'bigint', p_data: 'jsonb' }),
  bot_session_delete: fn<Void>()({ p_user: 'bigint' }),
  update_claim: fn<boolean>()({ p_update_id: 'bigint' }),
  update_release: fn<Void>()({ p_update_id: 'bigint' }),
  leader_try: fn<boolean>()({ p_name: 'text', p_holder: 'text', p_ttl_seconds: 'integer' }),
  leader_release: fn<Void>()({ p_name: 'text', p_holder: 'text' }),
  rate_take: fn<RateTake>()({ p_key: 'text', p_cost: 'integer?' }),
  rate_set: fn<Void>()({ p_key: 'text', p_window_seconds: 'integer', p_max_calls: 'integer' }),
  bot_prune: fn<number>()({}),
  // the HTTP API (supabase/schemas/api)
  api_key_create: fn<KeyRow>()({ p_name: 'text', p_prefix: 'text', p_hash: 'text', p_rate: 'integer', p_quota: 'integer' }),
  api_key_list: fn<KeyRow[]>()({}),
  api_key_revoke: fn<KeyRow | null>()({ p_prefix: 'text' }),
  api_auth: fn<AuthResult>()({ p_hash: 'text' }),
  api_card_create: fn<CreateResult>()({ p_key_id: 'bigint', p: 'jsonb', p_photo_b64: 'base64', p_idempotency_key: 'text' }),
  api_card_get: fn<CardRow | null>()({ p_key_id: 'bigint', p_job_id: 'bigint' }),
  api_card_input: fn<ApiCardInputRow | null>()({ p_job_id: 'bigint' }),
  api_card_cutout_done: fn<{ recorded: boolean } | null>()({ p_job_id: 'bigint', p_cutout_b64: 'base64', p_framed_reason: 'text', p_ms: 'integer' }),
  api_card_variants_done: fn<{ recorded: boolean; set_job: number | null } | null>()({ p_job_id: 'bigint', p_variants: 'jsonb', p_ms: 'integer' }),
  api_card_set_enqueue: fn<number | null>()({ p_job_id: 'bigint' }),
  api_card_choose: fn<{ result: 'ok' | 'conflict' | 'canceled' | 'expired'; choice: number | null; set_job: number | null } | null>()({ p_key_id: 'bigint', p_job_id: 'bigint', p_variant: 'integer' }),
  api_card_cancel: fn<{ result: 'canceled' | 'not_open'; status: string } | null>()({ p_key_id: 'bigint', p_job_id: 'bigint' }),
  api_card_set_input: fn<ApiCardSetInputRow | null>()({ p_job_id: 'bigint' }),
  api_card_set_done: fn<{ recorded: boolean } | null>()({ p_job_id: 'bigint', p_slides: 'jsonb', p_ms: 'integer' }),
  api_card_image: fn<{ jpeg_b64: string; width: number; height: number } | null>()({ p_key_id: 'bigint', p_job_id: 'bigint', p_role: 'text', p_n: 'integer' }),
  api_card_store: fn<{ renders: number } | null>()({
    p_job_id: 'bigint', p_storage: 'text', p_path: 'text', p_jpeg_b64: 'base64', p_width: 'integer', p_height: 'integer', p_bytes: 'integer',
  }),
  api_card_result: fn<{ status: string; storage: 'db' | 'supabase' | null; path: string | null; jpeg_b64: string | null } | null>()(
    { p_key_id: 'bigint', p_job_id: 'bigint' }),
  api_stats: fn<StatsRow[]>()({ p_key_id: 'bigint', p_days: 'integer' }),
  api_prune: fn<string[]>()({}),
  // the AI stage: key pool and paid-call ledger (supabase/schemas/ai)
  ai_key_take: fn<AiKeyTake>()({ p_keys: 'jsonb', p_limits: 'text?' }),
  ai_key_cooldown: fn<Void>()({ p_key: 'text', p_ms: 'integer' }),
  ai_call_claim: fn<AiCallClaim>()({ p_call_key: 'text', p_order_key: 'text', p_holder: 'text', p_lease_seconds: 'integer' }),
  ai_call_done: fn<{ state: 'done' | 'failed'; first: boolean }>()({
    p_call_key: 'text', p_holder: 'text', p_image_b64: 'base64', p: 'jsonb',
  }),
  ai_call_release: fn<Void>()({ p_call_key: 'text', p_holder: 'text' }),
  ai_cost_stats: fn<AiCostStats>()({ p_api_key_id: 'bigint?' }),
  ai_prune: fn<number>()({ p_bytes_hours: 'integer?', p_limit: 'integer?' }),
} as const;

export type FnName = keyof typeof CATALOG;
type ArgsDef<F extends FnName> = (typeof CATALOG)[F]['args'];

type Base<T> = T extends `${infer B extends SqlType}?` ? B : T;
type TsOf<T> =
  T extends 'text' ? string :
  T extends 'base64' ? Buffer | string :
  T extends 'integer' ? number :
  T extends 'bigint' ? Bigint :
  T extends 'boolean' ? boolean :
  T extends 'jsonb' ? unknown :
  T extends 'timestamptz' ? string | Date :
  T extends 'bigint[]' ? Bigint[] :
  T extends 'integer[]' ? number[] :
  never;
type Optional<A> = { [K in keyof A]: A[K] extends `${string}?` ? K : never }[keyof A];

/** The arguments of `F` by name; SQL null is null; a defaulted argument may be left out. */
export type ArgsOf<F extends FnName, A = ArgsDef<F>> =
  { [K in Exclude<keyof A, Optional<A>>]: TsOf<Base<A[K]>> | null } &
  { [K in Optional<A>]?: TsOf<Base<A[K]>> | null };

/** What the call resolves to. */
export type ResultOf<F extends FnName> = (typeof CATALOG)[F] extends FnDef<any, infer R> ? R : never;

/** The SQL type of an argument, without the default marker; `base64` is `text`. */
export function sqlTypeOf(t: string): Exclude<SqlType, 'base64'> {
  const base = t.endsWith('?') ? t.slice(0, -1) : t;
  return (base === 'base64' ? 'text' : base) as Exclude<SqlType, 'base64'>;
}

export const fnDef = (name: FnName): FnDef => CATALOG[name] as FnDef;
