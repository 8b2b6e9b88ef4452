// The optional AI copywriter (OpenRouter-compatible), built from config when
// OPENROUTER_API_KEY is set. See provider.ts for the failure rules.
import type { RateLimitStore } from '../db/rate-limit.ts';
import { SharedLimiter } from './limiter.ts';
import { createCopyProvider, type CopyProvider } from './provider.ts';

export { AI_LIMIT_KEY, DEFAULT_AI_LIMITS, SharedLimiter, type AiLimits } from './limiter.ts';
export { createCopyProvider, type CopyOutcome, type CopyProvider, type FallbackReason } from './provider.ts';
export { parseCopy, copyRequest, type Copy, type CopyInput } from './copy.ts';

export interface AiConfig {
  OPENROUTER_API_KEY?: string;
  OPENROUTER_BASE_URL: string;
  OPENROUTER_MODEL: string;
  AI_TIMEOUT_MS: number;
  AI_RETRY_AFTER_MAX_S: number;
  AI_RATE_PER_MINUTE: number;
  AI_RATE_PER_HOUR: number;
  AI_RATE_PER_DAY: number;
}

/** The provider, or null without OPENROUTER_API_KEY (then nothing calls the network). */
export function aiFromConfig(config: AiConfig, limits: Pick<RateLimitStore, 'rateTake' | 'rateSet'>): { provider: CopyProvider; limiter: SharedLimiter } | null {
  if (!config.OPENROUTER_API_KEY) return null;
  const limiter = new SharedLimiter(limits, {
    perMinute: config.AI_RATE_PER_MINUTE, perHour: config.AI_RATE_PER_HOUR, perDay: config.AI_RATE_PER_DAY,
  });
  const provider = createCopyProvider({
    baseUrl: config.OPENROUTER_BASE_URL, apiKey: config.OPENROUTER_API_KEY, model: config.OPENROUTER_MODEL,
    appName: 'neurocards', limiter, timeoutMs: config.AI_TIMEOUT_MS, maxRetryAfterMs: config.AI_RETRY_AFTER_MAX_S * 1000,
  });
  return { provider, limiter };
}
