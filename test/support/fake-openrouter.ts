/**
 * A fake OpenRouter (OpenAI-compatible) chat completions server for tests.
 *
 * Real HTTP on 127.0.0.1 (random port): POST /chat/completions (also under /api/v1)
 * with `Authorization: Bearer <key>` (401 with an error envelope otherwise), answering
 * OpenRouter's shape {id, provider, model, object, created, choices:[{index,
 * finish_reason, message:{role, content}}], usage}. By default the assistant content is
 * a JSON card copy derived from the seller's words in the user message. Queue
 * behaviours with `script(...)` (consumed one per request) or set `fallback`:
 *   { kind: 'ok', copy? }           200 with that copy (or the default)
 *   { kind: 'content', content }    200 with this raw assistant content (e.g. not JSON)
 *   { kind: '429', retryAfter? }    429 + Retry-After header (string as given; omitted if undefined)
 *   { kind: '500' } / { kind: '503' }
 *   { kind: 'slow', ms, then? }     waits ms before answering `then` (default ok)
 *   { kind: 'image', png?, cost? }  200 with a picture as a data URL in message.images (the
 *                                   image models' shape); the default "ok" for a request
 *                                   with modalities ["image", ...]
 *   { kind: 'no-image', cost? }     200, text only, no images
 *   { kind: 'refusal', cost? }      200, message.refusal set, finish_reason content_filter
 * Every 200 reports usage.cost (USD): `imageCost` for a picture (and no-image/refusal
 * answers, which are billed too), `copyCost` for text. `latencySeconds` delays every
 * answer (after the request is logged), like a model that takes seconds or minutes.
 * Several keys: `keys: [...]`; each request notes which one it carried, whether the client
 * hung up before the answer (`aborted`) and when it was answered. `fallback` and
 * `latencySeconds` may be functions asked per request (the chaos run's random mix).
 *
 * Usage:
 *   const or = await startFakeOpenRouter({ key: 'sk-or-v1-test' });
 *   env.OPENROUTER_BASE_URL = or.baseUrl; env.OPENROUTER_API_KEY = 'sk-or-v1-test';
 *   or.script({ kind: '429', retryAfter: '1' });
 *   ... or.requests  // every request received, with its parsed body
 *   await or.close();
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';

export interface FakeCopy { title: string; features: string[] }

export type Behaviour =
  | { kind: 'ok'; copy?: FakeCopy }
  | { kind: 'content'; content: string }
  | { kind: '429'; retryAfter?: string }
  | { kind: '500' }
  | { kind: '503' }
  | { kind: 'slow'; ms: number; then?: Behaviour }
  | { kind: 'image'; png?: Buffer; cost?: number }
  | { kind: 'no-image'; cost?: number }
  | { kind: 'refusal'; cost?: number };

export interface FakeRequest {
  at: number;
  path: string;
  authorized: boolean;
  /** The bearer key it carried (a test's fake key). */
  key: string | null;
  body: any;
  /** What it answered. */
  status?: number;
  /** The client closed the connection before the answer was sent (a timeout or an abort). */
  aborted?: boolean;
  /** When the answer was sent. */
  answeredAt?: number;
  /** What it answered with ('image', 'no-image', '429', …) and the cost it billed. */
  answer?: Behaviour['kind'];
  cost?: number;
}

export interface FakeOpenRouter {
  baseUrl: string;
  requests: FakeRequest[];
  /** Authorized /chat/completions calls received (whatever they were answered). */
  calls(): number;
  /** Answers that carried a cost (200s): what a real provider bills. */
  paidCalls(): number;
  /** Sum of usage.cost over the answers sent. */
  billedUsd(): number;
  /** Seconds every answer waits before it is sent (0 = at once); a function is asked per request. */
  latencySeconds: number | (() => number);
  imageCost: number;
  copyCost: number;
  /** The PNG the default image answer carries. */
  png: Buffer;
  script(...b: Behaviour[]): void;
  /** What a request gets when nothing is scripted; a function is asked per request (e.g. a random mix). */
  fallback: Behaviour | ((r: FakeRequest) => Behaviour);
  /** The copy the default "ok" behaviour answers for these seller words. */
  improve(seller: FakeCopy): FakeCopy;
  reset(): void;
  close(): Promise<void>;
}

export function defaultImprove(seller: FakeCopy): FakeCopy {
  return {
    title: `${seller.title} — хит продаж`,
    features: seller.features.map((f) => `${f} — проверено`),
  };
}

/** A small backdrop-like PNG (a vertical gradient), different per `seed`; `noisy`: photo-like entropy, a real answer's size. */
export function fakePng(seed = 0, width = 96, height = 128, noisy = false): Promise<Buffer> {
  if (noisy) {
    return sharp({ create: { width, height, channels: 3, background: '#c8c0b8', noise: { type: 'gaussian', mean: 120 + (seed % 40), sigma: 25 } } }).png().toBuffer();
  }
  const hue = (seed * 67) % 360;
  return sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="hsl(${hue},40%,90%)"/>` +
    `<stop offset="1" stop-color="hsl(${hue},30%,60%)"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/></svg>`)).png().toBuffer();
}

export async function startFakeOpenRouter(o: { key?: string; keys?: string[]; improve?: (s: FakeCopy) => FakeCopy; latencySeconds?: number }): Promise<FakeOpenRouter> {
  const improve = o.improve ?? defaultImprove;
  const keys = new Set([...(o.key ? [o.key] : []), ...(o.keys ?? [])]);
  let billed = 0;
  const defaultPng = await fakePng();
  const queue: Behaviour[] = [];
  const requests: FakeRequest[] = [];
  const reqOf = new WeakMap<http.ServerResponse, FakeRequest>();
  let seq = 0;

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed) return; // the client gave up (timeout)
    const r = reqOf.get(res);
    if (r) r.answeredAt = Date.now();
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const errorBody = (code: number, message: string) => ({ error: { code, message } });

  const completion = (req: FakeRequest, message: Record<string, unknown>, cost: number, finish = 'stop') => {
    billed += cost;
    req.status = 200;
    req.cost = cost;
    return {
      id: `gen-${Date.now()}-${++seq}`,
      provider: 'Fake',
      model: req.body.model,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      choices: [{ index: 0, logprobs: null, finish_reason: finish, native_finish_reason: finish === 'stop' ? 'STOP' : 'IMAGE_SAFETY', message: { role: 'assistant', refusal: null, ...message } }],
      usage: { prompt_tokens: 120, completion_tokens: 60, total_tokens: 180, cost, is_byok: false },
    };
  };

  async function answer(b: Behaviour, req: FakeRequest, res: http.ServerResponse): Promise<void> {
    if (b.kind !== 'slow') req.answer = b.kind;
    switch (b.kind) {
      case 'image': {
        const url = `data:image/png;base64,${(b.png ?? fake.png).toString('base64')}`;
        return send(res, 200, completion(req, { content: 'Here is the scene.', images: [{ type: 'image_url', image_url: { url }, index: 0 }] }, b.cost ?? fake.imageCost));
      }
      case 'no-image':
        return send(res, 200, completion(req, { content: 'I can describe the scene instead: a bright studio.' }, b.cost ?? fake.imageCost));
      case 'refusal':
        return send(res, 200, completion(req, { content: null, refusal: 'I cannot help with that request.' }, b.cost ?? 0, 'content_filter'));
      case 'slow':
        await sleep(b.ms, undefined, { ref: false });
        return answer(b.then ?? { kind: 'ok' }, req, res);
      case '429':
        req.status = 429;
        return send(res, 429, errorBody(429, 'Rate limit exceeded'), b.retryAfter !== undefined ? { 'retry-after': b.retryAfter } : {});
      case '500':
      case '503':
        req.status = Number(b.kind);
        return send(res, req.status, errorBody(req.status, 'Internal Server Error'));
      case 'ok':
        if (b.kind === 'ok' && Array.isArray(req.body.modalities) && req.body.modalities.includes('image')) return answer({ kind: 'image' }, req, res);
      // falls through
      case 'content': {
        let content: string;
        if (b.kind === 'content') content = b.content;
        else {
          let seller: FakeCopy = { title: '', features: [] };
          try { seller = JSON.parse(req.body.messages.find((m: any) => m.role === 'user').content); } catch { /* default */ }
          content = JSON.stringify(b.copy ?? improve(seller));
        }
        return send(res, 200, completion(req, { content }, fake.copyCost));
      }
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null;
      const authorized = bearer != null && keys.has(bearer);
      let body: any = null;
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* checked below */ }
      const r: FakeRequest = { at: Date.now(), path, authorized, key: bearer, body };
      requests.push(r);
      reqOf.set(res, r);
      res.on('close', () => { if (!res.writableEnded) r.aborted = true; });
      if (req.method !== 'POST' || !/^(\/api\/v1)?\/chat\/completions$/.test(path)) { r.status = 404; return send(res, 404, errorBody(404, 'Not Found')); }
      if (!authorized) { r.status = 401; return send(res, 401, errorBody(401, 'No auth credentials found')); }
      if (!body || typeof body.model !== 'string' || !Array.isArray(body.messages)) {
        r.status = 400; return send(res, 400, errorBody(400, 'Invalid request: model and messages are required'));
      }
      const b = queue.shift() ?? (typeof fake.fallback === 'function' ? fake.fallback(r) : fake.fallback);
      const seconds = typeof fake.latencySeconds === 'function' ? fake.latencySeconds() : fake.latencySeconds;
      const latency = seconds > 0 ? sleep(seconds * 1000, undefined, { ref: false }) : Promise.resolve();
      latency.then(() => answer(b, r, res)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeOpenRouter = {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    requests,
    calls: () => requests.filter((r) => r.authorized && /chat\/completions$/.test(r.path)).length,
    paidCalls: () => requests.filter((r) => r.status === 200).length,
    billedUsd: () => billed,
    latencySeconds: o.latencySeconds ?? 0,
    imageCost: 0.039,
    copyCost: 0.0002,
    png: defaultPng,
    script: (...b) => { queue.push(...b); },
    fallback: { kind: 'ok' },
    improve,
    reset() { queue.length = 0; requests.length = 0; billed = 0; fake.fallback = { kind: 'ok' }; fake.latencySeconds = 0; },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
