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
  /** What the api-card job needs: the photo until the cut-out is recorded, then the cut-out until the variants are. */
  async input(id: string) {
    const r = await this.rpc.call('api_card_input', { p_job_id: id });
    if (!r) return null;
    const { photo_b64, cutout_b64, ...rest } = r;
    return { ...rest, photo: fromBase64(photo_b64), cutout: fromBase64(cutout_b64) };
  }
  cutoutDone(id: string, png: Buffer, framedReason: string | null, ms: number) {
    return this.rpc.call('api_card_cutout_done', { p_job_id: id, p_cutout_b64: png, p_framed_reason: framedReason, p_ms: Math.round(ms) });
  }
  variantsDone(id: string, variants: Array<{ n: number; jpeg: Buffer; width: number; height: number }>, ms: number) {
    return this.rpc.call('api_card_variants_done', {
      p_job_id: id, p_ms: Math.round(ms),
      p_variants: variants.map((v) => ({ n: v.n, jpeg_b64: v.jpeg.toString('base64'), width: v.width, height: v.height })),
    });
  }
  /** Cancels the key's open card; null for anyone else's. */
  cancel(keyId: number, id: string) { return this.rpc.call('api_card_cancel', { p_key_id: keyId, p_job_id: id }); }
  choose(keyId: number, id: string, variant: number) {
    return this.rpc.call('api_card_choose', { p_key_id: keyId, p_job_id: id, p_variant: variant });
  }
  /** What the api-card-set job needs: the cut-out and the chosen variant until the set is recorded, then its main picture if not stored yet. */
  async setInput(id: string) {
    const r = await this.rpc.call('api_card_set_input', { p_job_id: id });
    if (!r) return null;
    const { cutout_b64, variant_b64, main_b64, ...rest } = r;
    return { ...rest, cutout: fromBase64(cutout_b64), variant: fromBase64(variant_b64), main: fromBase64(main_b64) };
  }
  setDone(id: string, slides: Array<{ role: string; jpeg: Buffer; width: number; height: number }>, ms: number) {
    return this.rpc.call('api_card_set_done', {
      p_job_id: id, p_ms: Math.round(ms),
      p_slides: slides.map((s, i) => ({ role: s.role, n: i + 1, jpeg_b64: s.jpeg.toString('base64'), width: s.width, height: s.height })),
    });
  }
  /** One variant or slide of the key's card. */
  async image(keyId: number, id: string, role: string, n: number) {
    const r = await this.rpc.call('api_card_image', { p_key_id: keyId, p_job_id: id, p_role: role, p_n: n });
    return r ? { jpeg: fromBase64(r.jpeg_b64)!, width: r.width, height: r.height } : null;
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
