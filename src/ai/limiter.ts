// The AI provider's share of the Postgres rate limiter (rate_take / rate_set through
// src/db/rate-limit.ts): one key, three fixed windows, counted across every instance.
import type { RateLimitStore } from '../db/rate-limit.ts';

export interface AiLimits { perMinute: number; perHour: number; perDay: number }

/** Seed 002's figures, also seeded by the migration for the key "ai". */
export const DEFAULT_AI_LIMITS: AiLimits = { perMinute: 100, perHour: 5_000, perDay: 100_000 };
export const AI_LIMIT_KEY = 'ai';

export type TakeResult = { ok: true } | { ok: false; retryInMs: number; window: 'minute' | 'hour' | 'day' | 'unavailable' };

export class SharedLimiter {
  private applied: Promise<void> | null = null;

  constructor(
    private readonly orders: Pick<RateLimitStore, 'rateTake' | 'rateSet'>,
    private readonly limits: AiLimits = DEFAULT_AI_LIMITS,
    readonly key = AI_LIMIT_KEY,
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
      const r = await this.orders.rateTake(this.key, 1);
      if (r.ok) return { ok: true };
      const ms = r.retry_in_ms ?? 0;
      // The fullest window decides the wait; its length tells which one it is.
      return { ok: false, retryInMs: ms, window: ms <= 60_000 ? 'minute' : ms <= 3_600_000 ? 'hour' : 'day' };
    } catch {
      // No database answer: skip the AI rather than call it unmetered.
      return { ok: false, retryInMs: 0, window: 'unavailable' };
    }
  }
}
