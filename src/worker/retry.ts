// Retry policies per job kind (seed 002): exponential backoff from 2 s with jitter.
// Permanent errors never retry. How many attempts a job gets is not here: it is the
// job row's max_attempts, fixed at enqueue (SQL: 5 by default, 10 for a card's
// delivery in order_rendered(); the scheduler passes 3), because claim() retires a job
// whose lease ran out on its last attempt with no TypeScript involved, and a job
// queued by one version may run on another. A copy here could only disagree.
import { PermanentError, RetryAfterError } from '../job-errors.ts';

export { PermanentError, RetryAfterError };

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
}

export const POLICIES = {
  standard: { baseMs: 2_000, maxMs: 5 * 60_000 },
  critical: { baseMs: 2_000, maxMs: 10 * 60_000 },
  fast: { baseMs: 2_000, maxMs: 30_000 },
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
