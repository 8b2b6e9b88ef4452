// The pool of provider keys: the keys themselves stay in this process (from the
// environment); the database and the logs only ever see a key's fingerprint. Which key a
// call uses is decided in Postgres (ai_key_take): the one with the most headroom left in
// its per-minute, per-hour and per-day windows, counted across every instance.
import { createHash } from 'node:crypto';
import type { AiStore } from '../db/ai.ts';

/** sha256 of the key, first 16 hex digits: enough to tell keys apart, useless to call with. */
export function keyFingerprint(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex').slice(0, 16);
}

/** OPENROUTER_API_KEY plus OPENROUTER_API_KEYS (comma-separated), blanks and repeats dropped. */
export function keysFromEnv(single: string | undefined, list: string | undefined): string[] {
  const all = [single ?? '', ...(list ?? '').split(',')].map((k) => k.trim()).filter(Boolean);
  return [...new Set(all)];
}

export type KeyGrant =
  | { ok: true; apiKey: string; keyId: string }
  | { ok: false; retryInMs: number; reason: 'exhausted' | 'unavailable' };

export class KeyPool {
  private readonly byId: Map<string, string>;

  constructor(
    private readonly store: Pick<AiStore, 'keyTake' | 'keyCooldown'>,
    apiKeys: string[],
    /** The rate_limits rows every key is held to ('ai': seed 002's figures). */
    readonly limits = 'ai',
    /** Runs before each take (e.g. writing the configured limits once: SharedLimiter.apply). */
    private readonly prepare?: () => Promise<void>,
  ) {
    if (apiKeys.length === 0) throw new Error('KeyPool needs at least one key');
    this.byId = new Map(apiKeys.map((k) => [keyFingerprint(k), k]));
  }

  get size(): number { return this.byId.size; }
  get ids(): string[] { return [...this.byId.keys()]; }

  /** One call's worth of the key with most headroom, or how long until one frees up. Never waits. */
  async take(): Promise<KeyGrant> {
    try {
      await this.prepare?.();
      const r = await this.store.keyTake(this.ids, this.limits);
      if (!r.ok) return { ok: false, retryInMs: Number(r.retry_in_ms) || 0, reason: 'exhausted' };
      const apiKey = this.byId.get(r.key_id);
      // Cannot happen (we sent only our own ids); fail closed rather than call with a wrong key.
      if (!apiKey) return { ok: false, retryInMs: 0, reason: 'unavailable' };
      return { ok: true, apiKey, keyId: r.key_id };
    } catch {
      // No database answer: skip the AI rather than call it unmetered.
      return { ok: false, retryInMs: 0, reason: 'unavailable' };
    }
  }

  /** Rests a key after the provider's 429 (Retry-After); best effort. */
  async cooldown(keyId: string, ms: number): Promise<void> {
    await this.store.keyCooldown(keyId, ms).catch(() => undefined);
  }
}
