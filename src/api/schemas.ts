// One set of zod schemas: they validate requests and responses' shapes, and the
// OpenAPI document (openapi.ts) is generated from them with z.toJSONSchema.
import { z } from 'zod';
import { DEFAULT_TEMPLATE, FEATURES_MAX, TEMPLATE_IDS } from '../cards/index.ts';

export const CardFields = z.object({
  title: z.string().trim().min(1, 'must not be empty').max(200).meta({ description: 'Product name (up to 60 characters are shown)', example: 'Термокружка 450 мл' }),
  features: z.array(z.string().trim().max(200)).max(FEATURES_MAX * 2).default([])
    .meta({ description: `Key features; up to ${FEATURES_MAX} are shown. In multipart: repeat the field or separate them by new lines.` }),
  price: z.union([z.string().trim().max(40), z.number().nonnegative()]).nullish()
    .meta({ description: 'Price in roubles, e.g. "12990" → "12 990 ₽"; empty for none' }),
  template: z.enum(TEMPLATE_IDS).default(DEFAULT_TEMPLATE).meta({ description: 'Card design' }),
});

export const CreateCardJson = CardFields.extend({
  photoUrl: z.url({ protocol: /^https?$/ }).meta({ description: 'http(s) URL of the product photo; fetched by the server with size and time limits' }),
}).strict();

export const CreateCardMultipart = CardFields.extend({
  photo: z.string().meta({ format: 'binary', description: 'The product photo (JPEG, PNG, WebP, GIF, TIFF or AVIF)' }),
});

export const CardStatus = z.enum(['queued', 'running', 'succeeded', 'dead', 'canceled'])
  .meta({ description: "The queue's own job states: queued → running → succeeded; dead after the last failed attempt; canceled" });

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
});

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
export const Stats = z.object({ days: z.number().int(), rows: z.array(StatsRow) });

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().meta({ example: 'invalid_input' }),
    message: z.string().meta({ example: 'title: must not be empty' }),
  }),
});

/** "title: must not be empty; features.2: …" — the field is always named. */
export function describeIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message.replace(/^Invalid input: /, '')}`).join('; ');
}
