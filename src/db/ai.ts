// The AI stage's store (supabase/schemas/ai): the pool of provider keys, counted per key
// in the shared rate limiter, and the ledger that makes each paid call exactly-once work.
// Keys appear here only as fingerprints (src/ai/keys.ts).
import type { Rpc } from './rpc/index.ts';
import type { AiCallClaim, AiCostStats, AiKeyTake } from './rpc/results.ts';

export interface AiCallRecord {
  orderKey: string;
  /** 'image' (image holds the bytes), or why there is none: 'no_image', 'refusal', 'timeout', … */
  outcome: string;
  /** The picture's bytes, or its base64 text as the provider sent it (stored as is, decoded by Postgres). */
  image: Buffer | string | null;
  costUsd: number;
  keyId: string | null;
  model: string;
}

export class AiStore {
  constructor(private readonly rpc: Rpc) {}

  keyTake(keyIds: string[], limits = 'ai'): Promise<AiKeyTake> {
    return this.rpc.call('ai_key_take', { p_keys: keyIds, p_limits: limits });
  }
  async keyCooldown(keyId: string, ms: number): Promise<void> {
    await this.rpc.call('ai_key_cooldown', { p_key: keyId, p_ms: Math.min(Math.round(ms), 2_000_000_000) });
  }
  claim(callKey: string, orderKey: string, holder: string, leaseSeconds: number): Promise<AiCallClaim> {
    return this.rpc.call('ai_call_claim', { p_call_key: callKey, p_order_key: orderKey, p_holder: holder, p_lease_seconds: leaseSeconds });
  }
  done(callKey: string, holder: string, r: AiCallRecord) {
    return this.rpc.call('ai_call_done', {
      p_call_key: callKey, p_holder: holder, p_image_b64: r.image,
      p: { order_key: r.orderKey, outcome: r.outcome, cost_usd: r.costUsd, key_id: r.keyId, model: r.model },
    });
  }
  async release(callKey: string, holder: string): Promise<void> {
    await this.rpc.call('ai_call_release', { p_call_key: callKey, p_holder: holder });
  }
  /** Clears the image bytes of calls recorded more than `bytesHours` ago, in batches; the rows cleared. */
  async prune(bytesHours = 24): Promise<number> {
    let total = 0;
    for (;;) {
      const n = Number(await this.rpc.call('ai_prune', { p_bytes_hours: bytesHours }));
      total += n;
      if (n < 500) return total;
    }
  }
  costStats(apiKeyId?: number): Promise<AiCostStats> {
    return this.rpc.call('ai_cost_stats', apiKeyId == null ? {} : { p_api_key_id: apiKeyId });
  }
}
