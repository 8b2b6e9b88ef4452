// The optional AI stage, built from config when OPENROUTER_API_KEY or OPENROUTER_API_KEYS
// is set: the copywriter and the backdrop painter, both on one pool of keys held to the
// shared limits. See provider.ts and backdrop.ts for the failure rules.
import type { AiStore } from '../db/ai.ts';
import type { RateLimitStore } from '../db/rate-limit.ts';
import type { Logger } from '../log.ts';
import { aiBackdrop, type AiBackdropSource } from './backdrop.ts';
import { KeyPool, keysFromEnv } from './keys.ts';
import { AI_LIMIT_KEY, SharedLimiter } from './limiter.ts';
import { createCopyProvider, type CopyProvider } from './provider.ts';

export { AI_LIMIT_KEY, DEFAULT_AI_LIMITS, SharedLimiter, type AiLimits } from './limiter.ts';
export { createCopyProvider, type CopyOutcome, type CopyProvider, type FallbackReason } from './provider.ts';
export { parseCopy, copyRequest, type Copy, type CopyInput } from './copy.ts';
export { aiBackdrop, backdropCallKey, backdropWorstMs, forOrder, type AiBackdropOptions, type AiBackdropSource, type BackdropRequest } from './backdrop.ts';
export { KeyPool, keyFingerprint, keysFromEnv, type KeyGrant } from './keys.ts';

export interface AiConfig {
  OPENROUTER_API_KEY?: string;
  OPENROUTER_API_KEYS?: string;
  OPENROUTER_BASE_URL: string;
  OPENROUTER_MODEL: string;
  OPENROUTER_IMAGE_MODEL: string;
  AI_TIMEOUT_MS: number;
  AI_BACKDROP_TIMEOUT_MS: number;
  AI_RETRY_AFTER_MAX_S: number;
  AI_RATE_PER_MINUTE: number;
  AI_RATE_PER_HOUR: number;
  AI_RATE_PER_DAY: number;
}

export interface AiStage {
  provider: CopyProvider;
  limiter: SharedLimiter;
  /** Null without the key pool's store (then the copywriter uses the first key alone). */
  pool: KeyPool | null;
  backdrop: AiBackdropSource | null;
}

/** The AI stage, or null without a key (then nothing calls the network). */
export function aiFromConfig(config: AiConfig, limits: Pick<RateLimitStore, 'rateTake' | 'rateSet'>,
  o: { store?: AiStore; holder?: string; log?: Logger } = {}): AiStage | null {
  const keys = keysFromEnv(config.OPENROUTER_API_KEY, config.OPENROUTER_API_KEYS);
  if (keys.length === 0) return null;
  const perKey = { perMinute: config.AI_RATE_PER_MINUTE, perHour: config.AI_RATE_PER_HOUR, perDay: config.AI_RATE_PER_DAY };
  let limiter = new SharedLimiter(limits, perKey);
  let pool: KeyPool | null = null;
  if (o.store) {
    const plain = limiter;
    pool = new KeyPool(o.store, keys, AI_LIMIT_KEY, () => plain.apply());
    limiter = new SharedLimiter(limits, perKey, AI_LIMIT_KEY, pool);
  }
  const provider = createCopyProvider({
    baseUrl: config.OPENROUTER_BASE_URL, apiKey: keys[0]!, model: config.OPENROUTER_MODEL,
    appName: 'neurocards', limiter, timeoutMs: config.AI_TIMEOUT_MS, maxRetryAfterMs: config.AI_RETRY_AFTER_MAX_S * 1000,
  });
  const backdrop = pool && o.store ? aiBackdrop({
    store: o.store, pool, baseUrl: config.OPENROUTER_BASE_URL, model: config.OPENROUTER_IMAGE_MODEL, appName: 'neurocards',
    timeoutMs: config.AI_BACKDROP_TIMEOUT_MS, holder: o.holder ?? `pid-${process.pid}`, log: o.log,
  }) : null;
  return { provider, limiter, pool, backdrop };
}
