// Retry policies per job kind (seed 002): exponential backoff from 2 s with jitter;
// 5 attempts standard, 10 critical, 3 fast. Permanent errors never retry.
import { PermanentError, RetryAfterError } from '../job-errors.ts';

export { PermanentError, RetryAfterError };

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

export const POLICIES = {
  standard: { maxAttempts: 5, baseMs: 2_000, maxMs: 5 * 60_000 },
  critical: { maxAttempts: 10, baseMs: 2_000, maxMs: 10 * 60_000 },
  fast: { maxAttempts: 3, baseMs: 2_000, maxMs: 30_000 },
} satisfies Record<string, RetryPolicy>;

export type PolicyName = keyof typeof POLICIES;

/** Delay before the next attempt, after `attempt` (1-based) has failed. Equal jitter:
 *  half the exponential step fixed, half random, so a burst of failures spreads out. */
export function backoffMs(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** null = do not retry. */
export function retryDelayFor(err: unknown, policy: RetryPolicy, attempt: number): number | null {
  if (err instanceof PermanentError) return null;
  if (err instanceof RetryAfterError) return Math.max(err.retryAfterMs, 0);
  return backoffMs(policy, attempt);
}
