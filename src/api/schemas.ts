// One set of zod schemas: they validate requests and responses' shapes, and the
// OpenAPI document (openapi.ts) is generated from them with z.toJSONSchema.
import { z } from 'zod';
import { DEFAULT_TEMPLATE, describeChars, FEATURES_MAX, MARKETPLACE_IDS, TEMPLATE_IDS, unsupportedChars } from '../cards/index.ts';

// Postgres text cannot hold NUL, and a lone UTF-16 surrogate is not Unicode: both are
// refused here (400 naming the field) rather than failing in the database (500).
const PLAIN_TEXT = 'must not contain NUL or unpaired surrogate characters';
const NOT_PLAIN = /[\0\p{Cs}]/u; // \p{Cs}: a surrogate not in a pair
const text = () => z.string().refine((s) => !NOT_PLAIN.test(s), PLAIN_TEXT);
/** Text a card prints in `font`: emoji and characters the shipped font lacks are a 400 naming them, never tofu. */
const printable = (font: 'regular' | 'bold') => (s: string, ctx: z.RefinementCtx) => {
  const bad = unsupportedChars(s, font);
  if (bad.length) ctx.addIssue({ code: 'custom', message: `cannot be printed on a card: ${describeChars(bad)} (emoji are not supported)` });
};

const Variant = z.preprocess((v) => (v === '' || v === null ? undefined : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
  z.number().int().min(1).max(3));

export const CardFields = z.object({
  title: text().trim().min(1, 'must not be empty').max(200).superRefine(printable('bold')).meta({ description: 'Product name (up to 60 characters are shown)', example: 'Термокружка 450 мл' }),
  features: z.array(text().trim().max(200).superRefine(printable('regular'))).max(FEATURES_MAX * 2).default([])
    .meta({ description: `Key features; up to ${FEATURES_MAX} are shown. In multipart: repeat the field or separate them by new lines.` }),
  price: z.union([text().trim().max(40).superRefine(printable('bold')), z.number().nonnegative()]).nullish()
    .meta({ description: 'Price in roubles, e.g. "12990" → "12 990 ₽"; empty for none' }),
  template: z.enum(TEMPLATE_IDS).default(DEFAULT_TEMPLATE).meta({ description: 'Card design' }),
  marketplace: z.enum(MARKETPLACE_IDS).default('wb').meta({ description: 'Whose picture rules the set follows: wb (Wildberries) or ozon' }),
  variant: Variant.optional().meta({ description: 'Pick the main picture in advance (1-3); without it the card stops at awaiting_choice' }),
});

export const CreateCardJson = CardFields.extend({
  photoUrl: z.url({ protocol: /^https?$/ }).meta({ description: 'http(s) URL of the product photo; fetched by the server with size and time limits' }),
}).strict();

export const CreateCardMultipart = CardFields.extend({
  photo: z.string().meta({ format: 'binary', description: 'The product photo (JPEG, PNG, WebP, GIF, TIFF or AVIF)' }),
});

export const CardStatus = z.enum(['queued', 'running', 'awaiting_choice', 'expired', 'succeeded', 'dead', 'canceled'])
  .meta({ description: "The card's jobs' states: queued → running → (awaiting_choice: the 3 variants are ready, POST /choice; expired when no choice came within 7 days) → queued → running → succeeded; dead after the last failed attempt; canceled" });

export const CreatedCard = z.object({
  id: z.string(),
  status: CardStatus,
  position: z.number().int().nullable().meta({ description: 'Place in line (null for a repeated Idempotency-Key)' }),
  estimatedSeconds: z.number().int().nullable(),
});

export const Card = z.object({
  id: z.string(),
  status: CardStatus,
  createdAt: z.iso.datetime({ offset: true }),
  startedAt: z.iso.datetime({ offset: true }).nullable(),
  completedAt: z.iso.datetime({ offset: true }).nullable(),
  attempts: z.number().int(),
  error: z.string().nullable(),
  resultUrl: z.url().nullable().meta({ description: 'GET it with the same key once status is succeeded' }),
  marketplace: z.enum(MARKETPLACE_IDS),
  choice: z.number().int().nullable().meta({ description: 'The chosen variant (1-3)' }),
  choiceExpiresAt: z.iso.datetime({ offset: true }).nullable().meta({ description: 'Until when a variant can be chosen (7 days after the variants); null once chosen' }),
  framed: z.string().nullable().meta({ description: 'Why the photo is framed instead of cut out (null: cut out)' }),
  variants: z.array(z.object({ n: z.number().int(), url: z.url() })).meta({ description: 'The 3 main-picture variants, fetchable with the same key' }),
  slides: z.array(z.object({ role: z.enum(['main', 'infographic', 'detail']), width: z.number().int(), height: z.number().int(), url: z.url() }))
    .meta({ description: 'The finished set (empty until succeeded): the main picture first' }),
  timings: z.record(z.string(), z.number()).meta({ description: 'Milliseconds per stage: cutout, variants, set' }),
  position: z.number().int().nullable().meta({ description: 'Place in the queue while the current stage is queued (1 = next)' }),
  estimatedSeconds: z.number().int().nullable().meta({ description: 'Seconds until the current stage is done: its measured p50 over the last hour × (jobs ahead ÷ live worker slots + 1); null when not queued or running' }),
  eta: z.object({ stage: z.string(), p50Ms: z.number(), measured: z.boolean().meta({ description: 'false: no job of this stage finished in the last hour, a default was used' }), workerSlots: z.number().int() })
    .nullable().meta({ description: 'What the estimate is made of' }),
});

export const Choice = z.object({ variant: Variant }).strict();

export const CardId = z.string().regex(/^\d{1,18}$/, 'must be a card id');

export const StatsQuery = z.object({
  days: z.coerce.number().int().min(1).max(90).default(7).meta({ description: 'How many UTC days back, today included' }),
});

export const StatsRow = z.object({
  day: z.string().meta({ example: '2026-11-25' }),
  status: CardStatus,
  count: z.number().int(),
  avgSeconds: z.number().nullable().meta({ description: 'Average created → finished, finished jobs only' }),
  p95Seconds: z.number().nullable(),
});
/** What the AI provider reported it charged for this key's cards (all time, USD). */
export const AiCost = z.object({
  totalUsd: z.number(), orders: z.number().int(), avgPerOrderUsd: z.number().nullable(), paidCalls: z.number().int(),
});
export const Stats = z.object({ days: z.number().int(), rows: z.array(StatsRow), aiCost: AiCost });

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().meta({ example: 'invalid_input' }),
    message: z.string().meta({ example: 'title: must not be empty' }),
  }),
});

const MAX_ISSUES = 3;
const MAX_KEYS_NAMED = 3;
const MAX_PART = 120;

/**
 * "title: must not be empty; features.2: …" — the field is always named. A hostile
 * body can fail thousands of ways at once; the reply names the first few and counts
 * the rest, so it stays a few hundred bytes.
 */
export function describeIssues(err: z.ZodError): string {
  const parts = err.issues.slice(0, MAX_ISSUES).map((i) => {
    const where = i.path.length ? i.path.slice(0, 4).map(String).join('.').slice(0, MAX_PART) : 'body';
    if (i.code === 'unrecognized_keys') {
      const keys = i.keys.slice(0, MAX_KEYS_NAMED).map((k) => JSON.stringify(k.slice(0, 40))).join(', ');
      const more = i.keys.length > MAX_KEYS_NAMED ? ` and ${i.keys.length - MAX_KEYS_NAMED} more` : '';
      return `${where}: unknown field${i.keys.length > 1 ? 's' : ''} ${keys}${more}`;
    }
    return `${where}: ${i.message.replace(/^Invalid input: /, '').slice(0, MAX_PART)}`;
  });
  const rest = err.issues.length - MAX_ISSUES;
  return parts.join('; ') + (rest > 0 ? `; and ${rest} more problem${rest > 1 ? 's' : ''}` : '');
}
