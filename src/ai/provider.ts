// The optional AI copywriter: improves a card's title and features, or says why it
// did not. It never throws for provider trouble and never holds a worker slot for
// long: the shared limiter is asked first (no token → skip), a 429 is waited out only
// when Retry-After is short, 5xx and network errors are retried a couple of times with
// backoff inside an overall deadline, a timeout ends the attempt. Every failure path
// returns the seller's own words. Logs carry only the outcome — never the key, the
// prompt or the photo (the photo is never sent at all).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import { recordAiCall, recordAiRateLimitWait } from '../metrics.ts';
import { copyRequest, parseCopy, type Copy, type CopyInput } from './copy.ts';
import type { SharedLimiter } from './limiter.ts';
import { AiCallError, chatCompletion, type OpenRouterOptions } from './openrouter.ts';

export type CopyOutcome =
  | { source: 'ai'; copy: Copy; attempts: number }
  | { source: 'seller'; copy: Copy; reason: FallbackReason; attempts: number };

export type FallbackReason =
  | 'limiter' | 'rate_limited' | 'server_error' | 'timeout' | 'network' | 'rejected' | 'bad_response' | 'aborted';

export interface CopyProviderOptions extends OpenRouterOptions {
  limiter: SharedLimiter;
  /** Per-call time limit. */
  timeoutMs: number;
  /** A 429 whose Retry-After is at most this long is waited out; longer ones give up. */
  maxRetryAfterMs?: number;
  /** Retries after a 5xx or a network error (default 2). */
  serverRetries?: number;
  /** First backoff after a 5xx, doubled each time, ± 25 % jitter (default 250 ms). */
  backoffMs?: number;
  /** Upper bound for all attempts and waits of one improve() (default 2 × timeoutMs). */
  budgetMs?: number;
}

export interface CopyProvider {
  readonly model: string;
  improve(input: CopyInput, o?: { signal?: AbortSignal; log?: Logger }): Promise<CopyOutcome>;
}

/** 429 without (parseable) Retry-After: one short pause before trying again. */
const DEFAULT_429_WAIT_MS = 1_000;

export function createCopyProvider(opts: CopyProviderOptions): CopyProvider {
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 5_000;
  const serverRetries = opts.serverRetries ?? 2;
  const backoffMs = opts.backoffMs ?? 250;
  const budgetMs = opts.budgetMs ?? 2 * opts.timeoutMs;

  return {
    model: opts.model,
    async improve(input, { signal, log } = {}) {
      const seller: Copy = { title: input.title, features: input.features };
      const started = Date.now();
      const deadline = started + budgetMs;
      let attempts = 0;
      let serverFailures = 0;
      let waited429 = false;
      const done = (r: CopyOutcome) => {
        const ms = Date.now() - started;
        if (r.source === 'ai') log?.info({ copy: 'ai', attempts, ms }, 'ai copy used');
        else log?.info({ copy: 'seller', reason: r.reason, attempts, ms }, 'ai copy skipped: seller words used');
        return r;
      };
      const fallback = (reason: FallbackReason) => done({ source: 'seller', copy: seller, reason, attempts });
      const left = () => deadline - Date.now();

      const request = copyRequest(input);
      for (;;) {
        if (signal?.aborted) return fallback('aborted');
        const token = await opts.limiter.take();
        if (!token.ok) {
          recordAiRateLimitWait(token.window, 0);
          return fallback('limiter');
        }
        attempts++;
        try {
          const content = await chatCompletion({ ...opts, apiKey: token.apiKey ?? opts.apiKey }, request, Math.max(1, Math.min(opts.timeoutMs, left())), signal);
          const copy = parseCopy(content, seller);
          if (!copy) { recordAiCall('error'); return fallback('bad_response'); }
          recordAiCall('ok');
          return done({ source: 'ai', copy, attempts });
        } catch (err) {
          if (!(err instanceof AiCallError)) { recordAiCall('error'); return fallback('network'); }
          if (err.kind === 'rate_limited') {
            recordAiCall('rate_limited');
            const wait = err.retryAfterMs ?? DEFAULT_429_WAIT_MS;
            await opts.limiter.cooldown(token.keyId, wait);
            // Wait once, and only when it is short and fits the budget; otherwise this
            // card goes out with the seller's words rather than holding a slot.
            if (waited429 || wait > maxRetryAfterMs || wait + 200 > left()) return fallback('rate_limited');
            waited429 = true;
            recordAiRateLimitWait('provider_429', wait / 1000);
            if (!(await pause(wait, signal))) return fallback('aborted');
            continue;
          }
          recordAiCall('error');
          if ((err.kind === 'server_error' || err.kind === 'network') && serverFailures < serverRetries) {
            serverFailures++;
            const wait = backoffMs * 2 ** (serverFailures - 1) * (0.75 + Math.random() * 0.5);
            if (wait + 200 > left()) return fallback(err.kind);
            if (!(await pause(wait, signal))) return fallback('aborted');
            continue;
          }
          if (signal?.aborted) return fallback('aborted');
          return fallback(err.kind);
        }
      }
    },
  };
}

async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  try { await sleep(ms, undefined, { signal }); return true; } catch { return false; }
}
