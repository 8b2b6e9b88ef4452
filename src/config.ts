// Configuration: one zod schema over process.env (after .env). A bad start-up names
// every wrong variable at once, with how to fix it, instead of failing one by one.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

const BOOL = ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'] as const;
const isTrue = (v: string) => ['true', '1', 'yes', 'on'].includes(v);
const bool = (def: boolean) => z.enum(BOOL).default(def ? 'true' : 'false').transform(isTrue);
/** A switch whose default depends on another variable. */
const maybeBool = () => z.enum(BOOL).transform(isTrue).optional();

const optionalUrl = z.url({ protocol: /^https?$/ }).optional();

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(3000, 0, 65535), // 0 = any free port (tests)
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  INSTANCE_ID: z.string().min(1).max(100).optional(),
  RENDER_INSTANCE_ID: z.string().optional(),

  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
  DATABASE_PREPARE: bool(true),
  // Unset: follows DATABASE_PREPARE (false = a transaction pooler, where LISTEN reaches nobody).
  DATABASE_LISTEN: maybeBool(),
  DB_POOL_SIZE: int(5, 1, 100),
  SUPABASE_URL: optionalUrl,
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(20).optional(),
  EMBEDDED_PG_DIR: z.string().min(1).optional(), // unset: ./.data, or as root a folder under /var/lib/neurocards (src/db/pg-home.ts)
  EMBEDDED_PG_PORT: int(54329, 1, 65535),

  JOB_CONCURRENCY: int(25, 1, 1000),
  // CPU-heavy card work at once (cut-outs, renders, compositing: src/cards/limit.ts);
  // unset: one per core. Jobs waiting on I/O (AI calls) hold no slot.
  CPU_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),
  LEASE_SECONDS: int(30, 2, 3600),
  POLL_INTERVAL_MS: int(1000, 10, 60_000),
  SHUTDOWN_GRACE_MS: int(25_000, 0, 600_000),
  // Maintenance jobs (retention of jobs, bot tables, API results) fire once per period
  // across all instances; capped below the 24 h retention of finished jobs (worker/schedule.ts).
  // 0 = this instance schedules none (tests that count every job in the queue).
  MAINTENANCE_EVERY_S: int(600, 0, 3600),

  TELEGRAM_BOT_TOKEN: z.string().regex(/^\d+:[\w-]{20,}$/, 'looks wrong: copy it from @BotFather, like 123456:ABC-DEF...').optional(),
  TELEGRAM_API_ROOT: z.url({ protocol: /^https?$/ }).default('https://api.telegram.org'),
  WEBHOOK_URL: optionalUrl,
  RENDER_EXTERNAL_URL: optionalUrl,
  // Render's generateValue (render.yaml) and `openssl rand -base64` give +, / and =, which
  // Telegram refuses in a secret token: base64 is read in its URL-safe alphabet instead.
  TELEGRAM_WEBHOOK_SECRET: z.string().transform((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''))
    .pipe(z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'may only contain A-Z, a-z, 0-9, _ and - (or be base64)')).optional(),
  ADMIN_IDS: z.string().default('')
    .refine((s) => s.split(',').every((x) => x.trim() === '' || /^\d+$/.test(x.trim())), 'must be comma-separated numeric Telegram user ids')
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean).map(Number)),

  // The bot (issue 4)
  MAX_OPEN_ORDERS: int(5, 1, 1000),
  DAILY_ORDER_QUOTA: int(50, 1, 1_000_000),
  MAX_PHOTO_MB: int(20, 1, 2000), // Telegram's bot download limit; raise it with a self-hosted Bot API server
  TELEGRAM_THROTTLE: bool(true),
  TELEGRAM_INLINE_RETRY_MAX_S: int(2, 0, 60), // longer 429s go back to the queue
  TELEGRAM_UPDATE_BUDGET_MS: int(30_000, 1_000, 600_000), // all Telegram calls of one bot update, retries included
  TELEGRAM_SEND_DEADLINE_MS: int(60_000, 1_000, 100_000), // one delivery send (album, zip) is aborted after this; below the job's 120 s

  // Optional AI copywriter (issue 4 item 8) and backdrops (issue 15; src/ai). Off without a key.
  OPENROUTER_API_KEY: z.string().min(1).optional(),
  // More keys for the pool, comma-separated; the shared limiter spreads calls over them.
  OPENROUTER_API_KEYS: z.string().optional(),
  OPENROUTER_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://openrouter.ai/api/v1'),
  OPENROUTER_MODEL: z.string().min(1).default('openai/gpt-4o-mini'),
  OPENROUTER_IMAGE_MODEL: z.string().min(1).default('google/gemini-2.5-flash-image'),
  AI_TIMEOUT_MS: int(20_000, 100, 120_000),
  AI_BACKDROP_TIMEOUT_MS: int(90_000, 1_000, 600_000), // one image call; then that variant gets a local backdrop
  AI_RETRY_AFTER_MAX_S: int(5, 0, 60), // a longer 429 Retry-After skips AI for that card
  AI_RATE_PER_MINUTE: int(100, 1, 1_000_000),
  AI_RATE_PER_HOUR: int(5_000, 1, 100_000_000),
  AI_RATE_PER_DAY: int(100_000, 1, 1_000_000_000),

  // Operations (issue 7)
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters (e.g. `openssl rand -hex 24`)').optional(),
  SENTRY_DSN: z.url({ protocol: /^https?$/ }).optional(),
});

const HOW_TO_FIX: Partial<Record<keyof z.input<typeof schema>, string>> = {
  DATABASE_URL: 'set it to your Postgres connection string, e.g. postgres://user:pass@host:5432/db (Supabase: Project Settings → Database → Session pooler), or unset it to use the embedded database',
  SUPABASE_URL: 'set it to https://<project>.supabase.co (Project Settings → API)',
  SUPABASE_SERVICE_ROLE_KEY: 'copy the service_role key from Supabase Project Settings → API',
  TELEGRAM_BOT_TOKEN: 'create a bot with @BotFather and paste its token, or unset it to run without the bot',
};

export type RawConfig = z.output<typeof schema>;
export interface Config extends RawConfig {
  instanceId: string;
  /** Which store backs this process, and why (printed at start). */
  database:
    | { mode: 'direct'; url: string; prepare: boolean; listen: boolean; why: string }
    | { mode: 'rpc'; url: string; serviceRoleKey: string; why: string }
    | { mode: 'embedded'; dir: string | undefined; port: number; why: string };
  /** Public URL for the Telegram webhook, or null for long polling. */
  webhookUrl: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Configuration problem${problems.length > 1 ? 's' : ''} (see .env.example):\n` +
      problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings are "unset": a blank line in .env must not count as a value.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0]) as keyof typeof HOW_TO_FIX;
      const fix = HOW_TO_FIX[name];
      const text = /received NaN/.test(issue.message) ? `must be a whole number, got "${cleaned[name]}"` : issue.message.replace(/^Invalid input: /, '');
      problems.push(`${name} ${text}${fix ? `: ${fix}` : ''}`);
    }
  }
  // Rules across variables, checked on the raw values so they are reported together
  // with the per-variable problems above.
  if (cleaned.SUPABASE_URL && !cleaned.SUPABASE_SERVICE_ROLE_KEY)
    problems.push(`SUPABASE_SERVICE_ROLE_KEY must be set when SUPABASE_URL is set: ${HOW_TO_FIX.SUPABASE_SERVICE_ROLE_KEY}`);
  if (cleaned.SUPABASE_SERVICE_ROLE_KEY && !cleaned.SUPABASE_URL && !cleaned.DATABASE_URL)
    problems.push(`SUPABASE_URL must be set when SUPABASE_SERVICE_ROLE_KEY is set: ${HOW_TO_FIX.SUPABASE_URL}`);
  const c = parsed.data;
  if (problems.length > 0 || !c) throw new ConfigError(problems);

  const database: Config['database'] = c.DATABASE_URL
    ? { mode: 'direct', url: c.DATABASE_URL, prepare: c.DATABASE_PREPARE, listen: c.DATABASE_LISTEN ?? c.DATABASE_PREPARE,
        why: c.SUPABASE_URL ? 'DATABASE_URL is set (preferred over SUPABASE_URL: LISTEN/NOTIFY wake-ups)' : 'DATABASE_URL is set' }
    : c.SUPABASE_URL
      ? { mode: 'rpc', url: c.SUPABASE_URL, serviceRoleKey: c.SUPABASE_SERVICE_ROLE_KEY!, why: 'SUPABASE_URL is set and DATABASE_URL is not' }
      : { mode: 'embedded', dir: c.EMBEDDED_PG_DIR, port: c.EMBEDDED_PG_PORT, why: 'neither DATABASE_URL nor SUPABASE_URL is set' };

  const instanceId = c.INSTANCE_ID ?? c.RENDER_INSTANCE_ID ??
    `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const base = c.WEBHOOK_URL ?? c.RENDER_EXTERNAL_URL ?? null;
  const webhookUrl = base ? new URL('/telegram', base).toString() : null;
  return { ...c, instanceId, database, webhookUrl };
}
