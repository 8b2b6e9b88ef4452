// The API's SQL functions (supabase/migrations/20261125300000_api.sql) over either
// transport: postgres.js (`select public.fn(p => $1::text::T)`) or supabase-js RPC.
import type postgres from 'postgres';
import { callNamed } from '../db/named-call.ts';
import { supabaseRpc } from '../db/orders-supabase.ts';

const SIGNATURES = {
  api_key_create: { p_name: 'text', p_prefix: 'text', p_hash: 'text', p_rate: 'integer', p_quota: 'integer' },
  api_key_list: {},
  api_key_revoke: { p_prefix: 'text' },
  api_auth: { p_hash: 'text' },
  api_card_create: { p_key_id: 'bigint', p: 'jsonb', p_photo_b64: 'text', p_idempotency_key: 'text' },
  api_card_get: { p_key_id: 'bigint', p_job_id: 'bigint' },
  api_card_input: { p_job_id: 'bigint' },
  api_card_store: {
    p_job_id: 'bigint', p_storage: 'text', p_path: 'text', p_jpeg_b64: 'text',
    p_width: 'integer', p_height: 'integer', p_bytes: 'integer',
  },
  api_card_result: { p_key_id: 'bigint', p_job_id: 'bigint' },
  api_stats: { p_key_id: 'bigint', p_days: 'integer' },
  api_prune: {},
} as const satisfies Record<string, Record<string, string>>;

export type ApiFn = keyof typeof SIGNATURES;
type Args<F extends ApiFn> = { [K in keyof (typeof SIGNATURES)[F]]: unknown };

export interface ApiCaller {
  call<T>(fn: ApiFn, args: Record<string, unknown>): Promise<T>;
}

export function postgresCaller(sql: postgres.Sql): ApiCaller {
  return {
    call: <T>(fn: ApiFn, args: Record<string, unknown>) => callNamed<T>(sql, fn, SIGNATURES[fn], args),
  };
}

export function supabaseCaller(o: { url: string; serviceRoleKey: string }): ApiCaller {
  const rpc = supabaseRpc(o);
  return { call: <T>(fn: ApiFn, args: Record<string, unknown>) => rpc.call<T>(fn as never, args) };
}

export interface KeyRow {
  id: number; name: string; prefix: string; rate_per_minute: number; daily_quota: number;
  created_at: string; last_used_at?: string | null; revoked_at: string | null; cards_today?: number;
}
export type AuthResult =
  | { result: 'ok'; key_id: number }
  | { result: 'unknown' }
  | { result: 'revoked'; key_id: number }
  | { result: 'limited'; key_id: number; retry_after: number };
export interface CardInputJson { title: string; features: string[]; price: string | null; template: string }
export type CreateResult =
  | { result: 'created' | 'exists'; id: number; status: string; position: number | null; estimated_seconds: number | null }
  | { result: 'quota'; limit: number; retry_after: number };
export interface CardRow {
  id: number; status: string; created_at: string; started_at: string | null; completed_at: string | null;
  attempts: number; error: string | null; template: string;
}
export interface StatsRow { day: string; status: string; count: number; avg_seconds: number | null; p95_seconds: number | null }

export class ApiDb {
  constructor(private readonly caller: ApiCaller) {}

  private call<T, F extends ApiFn>(fn: F, args: Args<F>): Promise<T> {
    return this.caller.call<T>(fn, args as Record<string, unknown>);
  }

  keyCreate(k: { name: string; prefix: string; hash: string; rate?: number; quota?: number }) {
    return this.call<KeyRow, 'api_key_create'>('api_key_create', {
      p_name: k.name, p_prefix: k.prefix, p_hash: k.hash, p_rate: k.rate ?? null, p_quota: k.quota ?? null,
    });
  }
  keyList() { return this.call<KeyRow[], 'api_key_list'>('api_key_list', {}); }
  keyRevoke(prefixOrId: string) { return this.call<KeyRow | null, 'api_key_revoke'>('api_key_revoke', { p_prefix: prefixOrId }); }
  auth(hash: string) { return this.call<AuthResult, 'api_auth'>('api_auth', { p_hash: hash }); }
  create(keyId: number, input: CardInputJson, photo: Buffer, idempotencyKey: string | null) {
    return this.call<CreateResult, 'api_card_create'>('api_card_create', {
      p_key_id: keyId, p: input, p_photo_b64: photo.toString('base64'), p_idempotency_key: idempotencyKey,
    });
  }
  get(keyId: number, id: string) { return this.call<CardRow | null, 'api_card_get'>('api_card_get', { p_key_id: keyId, p_job_id: id }); }
  input(id: string) {
    return this.call<(CardInputJson & { photo_b64: string | null; stored: boolean }) | null, 'api_card_input'>('api_card_input', { p_job_id: id });
  }
  store(id: string, r: { storage: 'db' | 'supabase'; path: string | null; jpeg: Buffer | null; width: number; height: number; bytes: number }) {
    return this.call<{ renders: number } | null, 'api_card_store'>('api_card_store', {
      p_job_id: id, p_storage: r.storage, p_path: r.path, p_jpeg_b64: r.jpeg ? r.jpeg.toString('base64') : null,
      p_width: r.width, p_height: r.height, p_bytes: r.bytes,
    });
  }
  result(keyId: number, id: string) {
    return this.call<{ status: string; storage: 'db' | 'supabase' | null; path: string | null; jpeg_b64: string | null } | null, 'api_card_result'>(
      'api_card_result', { p_key_id: keyId, p_job_id: id });
  }
  stats(keyId: number, days: number) { return this.call<StatsRow[], 'api_stats'>('api_stats', { p_key_id: keyId, p_days: days }); }
  prune() { return this.call<string[], 'api_prune'>('api_prune', {}); }
}
