// Retry policies (seed 002): 2 s doubling with jitter. The attempt budget is the job
// row's max_attempts (SQL), not a policy field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, PermanentError, POLICIES, retryDelayFor, RetryAfterError } from '../src/worker/retry.ts';

test('exponential from 2 s with equal jitter, capped', () => {
  const p = POLICIES.standard;
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffMs(p, a, () => 0)), [1000, 2000, 4000, 8000]);
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffMs(p, a, () => 1)), [2000, 4000, 8000, 16000]);
  assert.equal(backoffMs(p, 30, () => 1), p.maxMs);
  const spread = new Set(Array.from({ length: 50 }, () => backoffMs(p, 3)));
  assert.ok(spread.size > 10, 'jitter spreads retries');
  for (const v of spread) assert.ok(v >= 4000 && v <= 8000);
});

test('permanent errors do not retry; retry_after is honoured', () => {
  assert.equal(retryDelayFor(new PermanentError('bad photo'), POLICIES.standard, 1), null);
  assert.equal(retryDelayFor(new RetryAfterError('429', 7000), POLICIES.standard, 1), 7000);
  const d = retryDelayFor(new Error('ECONNRESET'), POLICIES.fast, 2)!;
  assert.ok(d >= 2000 && d <= 4000);
});
