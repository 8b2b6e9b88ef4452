// The API's store: its SQL functions (supabase/schemas/api) as catalog calls over the RPC
// layer, either transport. Bytes cross as the catalog's base64: the photo once in
// (create) and once out (input, while it is not rendered yet), the result once in
// (store) and once out per download (result); nothing else carries them.
import { fromBase64, type Rpc } from '../db/rpc/index.ts';
import type { CardInputJson } from '../db/rpc/results.ts';

export type { AuthResult, CardInputJson, CardRow, CreateResult, KeyRow, StatsRow } from '../db/rpc/results.ts';

export class ApiDb {
  constructor(private readonly rpc: Rpc) {}

  keyCreate(k: { name: string; prefix: string; hash: string; rate?: number; quota?: number }) {
    return this.rpc.call('api_key_create', { p_name: k.name, p_prefix: k.prefix, p_hash: k.hash, p_rate: k.rate ?? null, p_quota: k.quota ?? null });
  }
  keyList() { return this.rpc.call('api_key_list', {}); }
  keyRevoke(prefixOrId: string) { return this.rpc.call('api_key_revoke', { p_prefix: prefixOrId }); }
  auth(hash: string) { return this.rpc.call('api_auth', { p_hash: hash }); }
  create(keyId: number, input: CardInputJson, photo: Buffer, idempotencyKey: string | null) {
    return this.rpc.call('api_card_create', { p_key_id: keyId, p: input, p_photo_b64: photo, p_idempotency_key: idempotencyKey });
  }
  get(keyId: number, id: string) { return this.rpc.call('api_card_get', { p_key_id: keyId, p_job_id: id }); }
  /** What the render job needs; `photo` is null once the card is stored (a retry renders nothing). */
  async input(id: string): Promise<(CardInputJson & { photo: Buffer | null; stored: boolean }) | null> {
    const r = await this.rpc.call('api_card_input', { p_job_id: id });
    if (!r) return null;
    const { photo_b64, ...rest } = r;
    return { ...rest, photo: fromBase64(photo_b64) };
  }
  store(id: string, r: { storage: 'db' | 'supabase'; path: string | null; jpeg: Buffer | null; width: number; height: number; bytes: number }) {
    return this.rpc.call('api_card_store', {
      p_job_id: id, p_storage: r.storage, p_path: r.path, p_jpeg_b64: r.jpeg,
      p_width: r.width, p_height: r.height, p_bytes: r.bytes,
    });
  }
  /** Where the key's result is, with its bytes when kept in the database. */
  async result(keyId: number, id: string) {
    const r = await this.rpc.call('api_card_result', { p_key_id: keyId, p_job_id: id });
    if (!r) return null;
    const { jpeg_b64, ...rest } = r;
    return { ...rest, jpeg: fromBase64(jpeg_b64) };
  }
  stats(keyId: number, days: number) { return this.rpc.call('api_stats', { p_key_id: keyId, p_days: days }); }
  aiCost(keyId: number) { return this.rpc.call('ai_cost_stats', { p_api_key_id: keyId }); }
  prune() { return this.rpc.call('api_prune', {}); }
}
