// The AI provider's share of the Postgres rate limiter (rate_take / rate_set through
// src/db/rate-limit.ts): three fixed windows, counted across every instance. With a key
// pool (keys.ts) every key has those windows of its own (the rows written here are the
// limits each key is held to) and a take names the key to call with.
import type { RateLimitStore } from '../db/rate-limit.ts';
import type { KeyPool } from './keys.ts';

export interface AiLimits { perMinute: number; perHour: number; perDay: number }

/** Seed 002's figures, also seeded by the migration for the key "ai". */
export const DEFAULT_AI_LIMITS: AiLimits = { perMinute: 100, perHour: 5_000, perDay: 100_000 };
export const AI_LIMIT_KEY = 'ai';

export type TakeResult =
  | { ok: true; apiKey?: string; keyId?: string }
  | { ok: false; retryInMs: number; window: 'minute' | 'hour' | 'day' | 'unavailable' };

export class SharedLimiter {
  private applied: Promise<void> | null = null;

  constructor(
    private readonly orders: Pick<RateLimitStore, 'rateTake' | 'rateSet'>,
    private readonly limits: AiLimits = DEFAULT_AI_LIMITS,
    readonly key = AI_LIMIT_KEY,
    private readonly pool?: KeyPool,
  ) {}

  /** Writes the configured limits (once per process; retried on the next take if it failed). */
  apply(): Promise<void> {
    this.applied ??= (async () => {
      await this.orders.rateSet(this.key, 60, this.limits.perMinute);
      await this.orders.rateSet(this.key, 3600, this.limits.perHour);
      await this.orders.rateSet(this.key, 86400, this.limits.perDay);
    })().catch((err) => { this.applied = null; throw err; });
    return this.applied;
  }

  /** Takes one call from every window, or says how long until one is free. Never waits. */
  async take(): Promise<TakeResult> {
    try {
      await this.apply();
      let ms: number;
      if (this.pool) {
        const g = await this.pool.take();
        if (g.ok) return { ok: true, apiKey: g.apiKey, keyId: g.keyId };
        if (g.reason === 'unavailable') return { ok: false, retryInMs: 0, window: 'unavailable' };
        ms = g.retryInMs;
      } else {
        const r = await this.orders.rateTake(this.key, 1);
        if (r.ok) return { ok: true };
        ms = r.retry_in_ms ?? 0;
      }
      // The fullest window decides the wait; its length tells which one it is.
      return { ok: false, retryInMs: ms, window: ms <= 60_000 ? 'minute' : ms <= 3_600_000 ? 'hour' : 'day' };
    } catch {
      // No database answer: skip the AI rather than call it unmetered.
      return { ok: false, retryInMs: 0, window: 'unavailable' };
    }
  }

  /** After the provider's 429: rests that key of the pool (no-op without a pool). */
  async cooldown(keyId: string | undefined, ms: number): Promise<void> {
    if (this.pool && keyId) await this.pool.cooldown(keyId, ms);
  }
}
