// The handlers of the public API under /api (mounted by src/http/routes.ts): POST /cards,
// GET /cards/:id, DELETE /cards/:id (cancel), POST /cards/:id/choice, GET /cards/:id/variants/:n, /slides/:n, /result, GET /stats, GET /openapi.json, and the 'api-key'
// guard. Every error is JSON {error: {code, message}}.
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono';
import pLimit from 'p-limit';
import { limitBody } from '../http/body-limit.ts';
import { BadPhotoError, verifyPhoto } from '../cards/index.ts';
import type { Logger } from '../log.ts';
import { scrub } from '../log.ts';
import type { ApiConfig } from './config.ts';
import type { ApiDb, CardInputJson } from './db.ts';
import { ApiError, errorBody, isDatabaseDown } from './errors.ts';
import { fetchPhoto } from './fetch-photo.ts';
import { hashKey } from './keys.ts';
import { checkMultipart } from './multipart-guard.ts';
import { openApiDocument } from './openapi.ts';
import { CardFields, CardId, Choice, CreateCardJson, describeIssues, StatsQuery } from './schemas.ts';
import type { ResultStore } from './storage.ts';

export interface ApiDeps {
  db: ApiDb;
  results: ResultStore;
  config: ApiConfig;
  log: Logger;
}

type Env = { Variables: { keyId: number } };

const invalid = (message: string) => new ApiError(400, 'invalid_input', message);

function origin(c: Context): string {
  const u = new URL(c.req.url);
  const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim();
  return `${proto === 'https' || proto === 'http' ? proto : u.protocol.slice(0, -1)}://${c.req.header('host') ?? u.host}`;
}

// JSON carries fields and a photo URL, a few KB; photos come by multipart or URL.
const MAX_JSON_BYTES = 64 * 1024;
// A card's multipart form: photo, title, template, price and up to 10 features.
const MULTIPART_LIMITS = { maxParts: 32, maxFieldBytes: 64 * 1024 };

// The whole file is decoded (at a small size, off the event loop) before the card is
// queued, so a truncated or damaged photo is refused now, before a quota unit is spent.
// One decode is bounded by the 50 MP limit (~0.5 s for a PNG that size); two at a time
// keep a burst of them from taking every core from the event loop and the renders.
const decodeSlots = pLimit(2);

async function checkPhoto(photo: Buffer, maxBytes: number) {
  if (photo.length > maxBytes) throw new ApiError(413, 'photo_too_large', `photo: larger than ${Math.round(maxBytes / 1048576)} MB`);
  try {
    await decodeSlots(() => verifyPhoto(photo));
  } catch (err) {
    if (!(err instanceof BadPhotoError)) throw err;
    if (err.code === 'not_image' || err.code === 'empty') throw new ApiError(415, 'not_an_image', `photo: ${err.message}`);
    if (err.code === 'too_large_bytes') throw new ApiError(413, 'photo_too_large', `photo: ${err.message}`);
    if (err.code === 'corrupt') throw new ApiError(400, 'photo_corrupt', `photo: the image is truncated or damaged and cannot be decoded (${err.message})`);
    throw new ApiError(400, `photo_${err.code}`, `photo: ${err.message}`);
  }
}

export type ApiHandlers = ReturnType<typeof apiHandlers>;

export function apiHandlers(d: ApiDeps) {
  const maxPhoto = d.config.API_MAX_PHOTO_MB * 1024 * 1024;

  const onError: ErrorHandler = (err, c) => {
    if (err instanceof ApiError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json(errorBody(err.code, err.message), err.status);
    }
    if (isDatabaseDown(err)) {
      c.header('Retry-After', '5');
      return c.json(errorBody('unavailable', 'the database is unreachable; retry in a few seconds'), 503);
    }
    d.log.error({ err: scrub(err.message), path: c.req.path }, 'api handler failed');
    return c.json(errorBody('internal', 'internal error'), 500);
  };
  // Each handler answers its own errors (ApiError → its status) before hono's app-wide handler sees them.
  const handled = <C extends Context<any>>(h: (c: C, next: () => Promise<void>) => Promise<Response | void> | Response) =>
    (async (c: C, next: () => Promise<void>) => {
      try { return await h(c, next); } catch (err) { return onError(err as Error, c); }
    }) as MiddlewareHandler<Env>;

  const openapi = (c: Context) => c.json(openApiDocument(origin(c)));

  // The 'api-key' guard: authentication and the per-key rate limit, one SQL call per request.
  const auth = async (c: Context<Env>, next: () => Promise<void>) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ApiError(401, 'unauthorized', 'send an API key as `Authorization: Bearer <key>`', { 'WWW-Authenticate': 'Bearer' });
    const found = await d.db.auth(hashKey(m[1]));
    if (found.result === 'unknown') throw new ApiError(401, 'unauthorized', 'unknown API key', { 'WWW-Authenticate': 'Bearer' });
    if (found.result === 'revoked') throw new ApiError(403, 'key_revoked', 'this API key has been revoked');
    if (found.result === 'limited') {
      throw new ApiError(429, 'rate_limited', `too many requests for this key; retry in ${found.retry_after} s`, { 'Retry-After': String(found.retry_after) });
    }
    c.set("keyId", found.key_id);
    await next();
  };

  const isMultipart = (c: Context) => (c.req.header('content-type') ?? '').toLowerCase().startsWith('multipart/form-data');
  const multipartLimit = limitBody(maxPhoto + 256 * 1024,
    (c) => c.json(errorBody('request_too_large', `the request is larger than ${d.config.API_MAX_PHOTO_MB} MB plus fields`), 413));
  const otherLimit = limitBody(MAX_JSON_BYTES,
    (c) => c.json(errorBody('request_too_large', `a JSON request is limited to ${MAX_JSON_BYTES / 1024} KB; send the photo by multipart/form-data or as photoUrl`), 413));
  const bodyLimit = (c: Context, next: () => Promise<void>) => (isMultipart(c) ? multipartLimit : otherLimit)(c, next);

  const createCard = async (c: Context<Env>) => {
    const idem = c.req.header('idempotency-key') ?? null;
    if (idem !== null && (idem.length < 1 || idem.length > 200)) throw invalid('Idempotency-Key: must be 1 to 200 characters');
    const type = (c.req.header('content-type') ?? '').toLowerCase();
    let fields: CardInputJson;
    let photo: Buffer;
    if (type.startsWith('multipart/form-data')) {
      let form: Record<string, string | File | (string | File)[]>;
      const problem = checkMultipart(new Uint8Array(await c.req.arrayBuffer()), c.req.header('content-type') ?? '', MULTIPART_LIMITS);
      if (problem) throw invalid(`${problem.field}: ${problem.message}`);
      try { form = await c.req.parseBody({ all: true }); } catch { throw invalid('body: malformed multipart/form-data'); }
      const one = (v: unknown) => (Array.isArray(v) ? v[0] : v);
      const file = one(form.photo);
      if (!(file instanceof File)) throw invalid('photo: required (a file field)');
      const rawFeatures = form.features;
      const features = rawFeatures === undefined ? [] : (Array.isArray(rawFeatures) ? rawFeatures : [rawFeatures])
        .flatMap((f) => (typeof f === 'string' ? f.split(/\r?\n/) : [])).map((f) => f.trim()).filter(Boolean);
      const parsed = CardFields.safeParse({
        title: one(form.title), features, price: one(form.price) || null, template: one(form.template) || undefined,
        marketplace: one(form.marketplace) || undefined, variant: one(form.variant),
      });
      if (!parsed.success) throw invalid(describeIssues(parsed.error));
      fields = { ...parsed.data, price: parsed.data.price == null ? null : String(parsed.data.price), variant: parsed.data.variant ?? null };
      if (file.size > maxPhoto) throw new ApiError(413, 'photo_too_large', `photo: larger than ${d.config.API_MAX_PHOTO_MB} MB`);
      photo = Buffer.from(await file.arrayBuffer());
    } else if (type.startsWith('application/json')) {
      let body: unknown;
      try { body = await c.req.json(); } catch { throw invalid('body: not valid JSON'); }
      const parsed = CreateCardJson.safeParse(body);
      if (!parsed.success) throw invalid(describeIssues(parsed.error));
      const { photoUrl, ...rest } = parsed.data;
      fields = { ...rest, price: rest.price == null ? null : String(rest.price), variant: rest.variant ?? null };
      photo = await fetchPhoto(photoUrl, {
        maxBytes: maxPhoto, timeoutMs: d.config.API_FETCH_TIMEOUT_MS, allowPrivate: d.config.API_ALLOW_PRIVATE_URLS,
      });
    } else {
      throw new ApiError(415, 'unsupported_media_type', 'send multipart/form-data (photo + fields) or application/json (photoUrl + fields)');
    }
    await checkPhoto(photo, maxPhoto);

    const r = await d.db.create(c.get('keyId'), fields, photo, idem);
    if (r.result === 'quota') {
      throw new ApiError(429, 'quota_exceeded', `this key's daily quota of ${r.limit} cards is used up; it resets at 00:00 UTC`, { 'Retry-After': String(r.retry_after) });
    }
    if (r.result === 'exists') c.header('Idempotent-Replayed', 'true');
    c.header('Location', `/api/cards/${r.id}`);
    return c.json({ id: String(r.id), status: r.status, position: r.position, estimatedSeconds: r.estimated_seconds }, 202);
  };

  const cardId = (c: Context) => {
    const id = c.req.param('id') ?? '';
    if (!CardId.safeParse(id).success) throw new ApiError(404, 'not_found', `no card ${id}`);
    return id;
  };

  const getCard = async (c: Context<Env>) => {
    const id = cardId(c);
    const card = await d.db.get(c.get('keyId'), id);
    if (!card) throw new ApiError(404, 'not_found', `no card ${id}`);
    c.header('Cache-Control', 'no-store');
    const at = `${origin(c)}/api/cards/${id}`;
    return c.json({
      id: String(card.id), status: card.status, createdAt: card.created_at, startedAt: card.started_at,
      completedAt: card.completed_at, attempts: card.attempts, error: card.error,
      // From job_eta(): the stage's measured p50 × (jobs ahead ÷ live slots + 1).
      position: card.eta?.position ?? null, estimatedSeconds: card.eta?.estimate_seconds ?? null,
      eta: card.eta ? { stage: card.eta.kind, p50Ms: Number(card.eta.p50_ms), measured: card.eta.measured, workerSlots: card.eta.slots } : null,
      resultUrl: card.status === 'succeeded' ? `${at}/result` : null,
      marketplace: card.marketplace, choice: card.choice, choiceExpiresAt: card.choice_expires_at, framed: card.framed_reason,
      variants: card.variants.map((v) => ({ n: v.n, url: `${at}/variants/${v.n}` })),
      slides: card.status === 'succeeded'
        ? card.slides.map((s) => ({ role: s.role, width: s.width, height: s.height, url: `${at}/slides/${s.n}` }))
        : [],
      timings: card.timings,
    });
  };

  const choose = async (c: Context<Env>) => {
    const id = cardId(c);
    let body: unknown;
    try { body = await c.req.json(); } catch { throw invalid('body: send JSON {"variant": 1|2|3}'); }
    const parsed = Choice.safeParse(body);
    if (!parsed.success) throw invalid(describeIssues(parsed.error));
    const r = await d.db.choose(c.get('keyId'), id, parsed.data.variant);
    if (!r) throw new ApiError(404, 'not_found', `no card ${id}`);
    if (r.result === 'conflict') throw new ApiError(409, 'already_chosen', `card ${id} already has variant ${r.choice} chosen`);
    if (r.result === 'canceled') throw new ApiError(409, 'canceled', `card ${id} was canceled`);
    if (r.result === 'expired') {
      throw new ApiError(410, 'choice_expired', `card ${id} waited 7 days for a choice of variant and has expired; create it again`);
    }
    const card = await d.db.get(c.get('keyId'), id);
    return c.json({ id, choice: r.choice, status: card?.status ?? 'queued' }, 202);
  };

  // DELETE: cancels an open card (api_card_cancel); its running job is aborted by its worker.
  const cancel = async (c: Context<Env>) => {
    const id = cardId(c);
    const r = await d.db.cancel(c.get('keyId'), id);
    if (!r) throw new ApiError(404, 'not_found', `no card ${id}`);
    if (r.result === 'not_open') throw new ApiError(409, 'not_open', `card ${id} is ${r.status} and can no longer be canceled`);
    return c.json({ id, status: 'canceled' }, 200);
  };

  // A variant (1-3) or a slide (1 = the main picture) of the key's card, from the database.
  const image = (role: 'variant' | 'slide') => async (c: Context<Env>) => {
    const id = cardId(c);
    const n = Number(c.req.param('n'));
    if (!Number.isInteger(n) || n < 1 || n > 30) throw new ApiError(404, 'not_found', `no ${role} ${c.req.param('n')}`);
    let img;
    if (role === 'variant') {
      img = await d.db.image(c.get('keyId'), id, 'variant', n);
    } else {
      const card = await d.db.get(c.get('keyId'), id);
      if (!card) throw new ApiError(404, 'not_found', `no card ${id}`);
      if (card.status !== 'succeeded') throw new ApiError(409, 'not_ready', `card ${id} is ${card.status}, not succeeded`);
      const slide = card.slides.find((s) => s.n === n);
      img = slide ? await d.db.image(c.get('keyId'), id, slide.role, n) : null;
    }
    if (!img) throw new ApiError(404, 'not_found', `card ${id} has no ${role} ${n}`);
    return c.body(new Uint8Array(img.jpeg), 200, {
      'Content-Type': 'image/jpeg', 'Content-Length': String(img.jpeg.length),
      'Cache-Control': 'private, max-age=3600', 'Content-Disposition': `inline; filename="card-${id}-${role}-${n}.jpg"`,
    });
  };

  const result = async (c: Context<Env>) => {
    const id = cardId(c);
    const row = await d.db.result(c.get('keyId'), id);
    if (!row) throw new ApiError(404, 'not_found', `no card ${id}`);
    if (row.status !== 'succeeded' || !row.storage) {
      const card = await d.db.get(c.get('keyId'), id);
      throw new ApiError(409, 'not_ready', `card ${id} is ${card?.status ?? row.status}, not succeeded`);
    }
    const ref = await d.results.open(row);
    if (!ref) throw new ApiError(404, 'not_found', `card ${id} has no stored result`);
    if (ref.kind === 'redirect') return c.redirect(ref.url, 302);
    return c.body(new Uint8Array(ref.jpeg), 200, {
      'Content-Type': 'image/jpeg', 'Content-Length': String(ref.jpeg.length),
      'Cache-Control': 'private, max-age=3600', 'Content-Disposition': `inline; filename="card-${id}.jpg"`,
    });
  };

  const stats = async (c: Context<Env>) => {
    const q = StatsQuery.safeParse(c.req.query());
    if (!q.success) throw invalid(describeIssues(q.error));
    const [rows, ai] = await Promise.all([d.db.stats(c.get('keyId'), q.data.days), d.db.aiCost(c.get('keyId'))]);
    const num = (v: unknown) => (v == null ? null : Number(v));
    return c.json({
      days: q.data.days,
      rows: rows.map((r) => ({ day: r.day, status: r.status, count: Number(r.count), avgSeconds: num(r.avg_seconds), p95Seconds: num(r.p95_seconds) })),
      aiCost: { totalUsd: Number(ai.total_usd), orders: Number(ai.orders), avgPerOrderUsd: num(ai.avg_per_order_usd), paidCalls: Number(ai.paid_calls) },
    });
  };

  return {
    auth: handled(auth),
    openapi: handled(openapi),
    createCard: [handled(bodyLimit), handled(createCard)],
    card: handled(getCard),
    cancel: handled(cancel),
    choose: [handled(bodyLimit), handled(choose)],
    variant: handled(image('variant')),
    slide: handled(image('slide')),
    result: handled(result),
    stats: handled(stats),
  };
}
