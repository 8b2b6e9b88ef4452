// The API's own settings, read from the environment next to src/config.ts (documented
// in .env.example). Kept here so the API stays one module.
import { z } from 'zod';

const bool = (def: boolean) =>
  z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']).default(def ? 'true' : 'false')
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v));
const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

const schema = z.object({
  /** Largest photo accepted (upload or fetched URL), in MB. */
  API_MAX_PHOTO_MB: int(10, 1, 30),
  /** Time limit for fetching a photo URL. */
  API_FETCH_TIMEOUT_MS: int(10_000, 100, 120_000),
  /** TEST ONLY: let photo URLs point at loopback/private addresses (SSRF guard off). */
  API_ALLOW_PRIVATE_URLS: bool(false),
  /** Supabase Storage bucket for results (private), used when SUPABASE_URL is set. */
  API_RESULTS_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,62}$/).default('card-results'),
  /** Lifetime of a signed result URL. */
  API_SIGNED_URL_SECONDS: int(3600, 10, 7 * 86400),
  /** Defaults for `apikey create`. */
  API_RATE_PER_MINUTE: int(600, 1, 1_000_000),
  API_DAILY_QUOTA: int(1000, 1, 100_000_000),
});

export type ApiConfig = z.output<typeof schema>;

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('API_') && v !== undefined && v !== ''));
  const r = schema.safeParse(cleaned);
  if (!r.success) {
    throw new Error(`invalid API settings: ${r.error.issues.map((i) => `${String(i.path[0])} ${i.message}`).join('; ')}`);
  }
  return r.data;
}
