// GET /api/openapi.json: built from the same zod schemas that validate requests.
import { z } from 'zod';
import { Card, Choice, CreateCardJson, CreateCardMultipart, CreatedCard, ErrorBody, Stats, StatsQuery } from './schemas.ts';

const schema = (s: z.ZodType) => {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' }) as Record<string, unknown>;
  return rest;
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
const err = (description: string) => ({ description, content: json('Error') });

const errors = {
  400: err('Invalid input; the message names the field'),
  401: err('Missing or unknown API key'),
  403: err('The API key is revoked'),
  429: { ...err('Rate limit or daily quota reached'), headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait' } } },
  503: err('The database is unreachable; retry later'),
};

export function openApiDocument(serverUrl?: string) {
  const statsParams = Object.entries((schema(StatsQuery).properties ?? {}) as Record<string, object>)
    .map(([name, s]) => ({ name, in: 'query', required: false, schema: s }));
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^\\d{1,18}$' } };
  return {
    openapi: '3.0.3',
    info: {
      title: 'neurocards API',
      version: '1.0.0',
      description: 'Create a marketplace card (900×1200 JPEG) from a product photo: create a job, get its id at once, poll its status every few seconds, fetch the result.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from `npx neurocards apikey create`' } },
      schemas: {
        CreateCardJson: schema(CreateCardJson), CreateCardMultipart: schema(CreateCardMultipart),
        CreatedCard: schema(CreatedCard), Card: schema(Card), Choice: schema(Choice), Stats: schema(Stats), Error: schema(ErrorBody),
      },
    },
    paths: {
      '/api/cards': {
        post: {
          summary: 'Create a card job',
          parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 200 },
            description: 'A retried request with the same key returns the same job' }],
          requestBody: { required: true, content: {
            'multipart/form-data': { schema: ref('CreateCardMultipart') },
            'application/json': { schema: ref('CreateCardJson') },
          } },
          responses: {
            202: { description: 'Queued (or the existing job for a repeated Idempotency-Key)', content: json('CreatedCard') },
            ...errors,
            413: err('Request or photo too large'),
            415: err('Not an image, or an unsupported request content type'),
          },
        },
      },
      '/api/cards/{id}': {
        get: {
          summary: 'Poll a card job',
          parameters: [idParam],
          responses: { 200: { description: 'The job as the worker sees it', content: json('Card') }, ...errors, 404: err('No such card for this key') },
        },
        delete: {
          summary: 'Cancel a card that is queued, running or awaiting_choice',
          description: 'No further stage starts; a running stage (e.g. an AI backdrop call) is aborted within half a worker lease and never retried. '
            + 'Canceling again answers the same; a finished or failed card cannot be canceled (409).',
          parameters: [idParam],
          responses: {
            200: { description: 'Canceled: {"id", "status": "canceled"}' },
            409: err('The card is no longer open (succeeded, dead or already failed)'),
            ...errors,
            404: err('No such card for this key'),
          },
        },
      },
      '/api/cards/{id}/result': {
        get: {
          summary: 'Download the finished card',
          parameters: [idParam],
          responses: {
            200: { description: 'The JPEG', content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } } } },
            302: { description: 'Redirect to a signed URL (Supabase Storage)' },
            409: err('Not finished yet'),
            ...errors,
            404: err('No such card for this key'),
          },
        },
      },
      '/api/cards/{id}/choice': {
        post: {
          summary: 'Pick the main picture (1-3) of a card at awaiting_choice; the set follows',
          parameters: [idParam],
          requestBody: { required: true, content: { 'application/json': { schema: ref('Choice') } } },
          responses: {
            202: { description: 'Chosen (the same choice again changes nothing)' },
            409: err('A different variant was chosen before'),
            410: err('No choice came within 7 days of the variants: the card expired'),
            ...errors,
            404: err('No such card for this key'),
          },
        },
      },
      '/api/cards/{id}/variants/{n}': {
        get: {
          summary: 'One of the 3 variants of the main picture',
          parameters: [idParam, { name: 'n', in: 'path', required: true, schema: { type: 'integer', minimum: 1, maximum: 3 } }],
          responses: { 200: { description: 'The JPEG', content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } } } }, ...errors, 404: err('No such variant') },
        },
      },
      '/api/cards/{id}/slides/{n}': {
        get: {
          summary: 'One slide of the finished set (1 = the main picture)',
          parameters: [idParam, { name: 'n', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
          responses: {
            200: { description: 'The JPEG', content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } } } },
            409: err('Not finished yet'), ...errors, 404: err('No such slide'),
          },
        },
      },
      '/api/stats': {
        get: {
          summary: 'Per day and status: count, average and p95 duration; and the AI cost reported by the provider (this key\'s cards)',
          parameters: statsParams,
          responses: { 200: { description: 'The report', content: json('Stats') }, ...errors },
        },
      },
      '/api/openapi.json': {
        get: { summary: 'This document', security: [], responses: { 200: { description: 'OpenAPI 3.0' } } },
      },
    },
  };
}
