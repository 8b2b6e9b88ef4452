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

export interface FakeCopy { title: string; features: string[] }

export type Behaviour =
  | { kind: 'ok'; copy?: FakeCopy }
  | { kind: 'content'; content: string }
  | { kind: '429'; retryAfter?: string }
  | { kind: '500' }
  | { kind: '503' }
  | { kind: 'slow'; ms: number; then?: Behaviour };

export interface FakeRequest {
  at: number;
  path: string;
  authorized: boolean;
  body: any;
  /** What it answered. */
  status?: number;
}

export interface FakeOpenRouter {
  baseUrl: string;
  requests: FakeRequest[];
  /** Authorized /chat/completions calls received (whatever they were answered). */
  calls(): number;
  script(...b: Behaviour[]): void;
  fallback: Behaviour;
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

export async function startFakeOpenRouter(o: { key: string; improve?: (s: FakeCopy) => FakeCopy }): Promise<FakeOpenRouter> {
  const improve = o.improve ?? defaultImprove;
  const queue: Behaviour[] = [];
  const requests: FakeRequest[] = [];
  let seq = 0;

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed) return; // the client gave up (timeout)
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const errorBody = (code: number, message: string) => ({ error: { code, message } });

  async function answer(b: Behaviour, req: FakeRequest, res: http.ServerResponse): Promise<void> {
    switch (b.kind) {
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
      case 'content': {
        let content: string;
        if (b.kind === 'content') content = b.content;
        else {
          let seller: FakeCopy = { title: '', features: [] };
          try { seller = JSON.parse(req.body.messages.find((m: any) => m.role === 'user').content); } catch { /* default */ }
          content = JSON.stringify(b.copy ?? improve(seller));
        }
        req.status = 200;
        return send(res, 200, {
          id: `gen-${Date.now()}-${++seq}`,
          provider: 'Fake',
          model: req.body.model,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          choices: [{ index: 0, logprobs: null, finish_reason: 'stop', native_finish_reason: 'stop', message: { role: 'assistant', content, refusal: null } }],
          usage: { prompt_tokens: 120, completion_tokens: 60, total_tokens: 180 },
        });
      }
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const authorized = req.headers.authorization === `Bearer ${o.key}`;
      let body: any = null;
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* checked below */ }
      const r: FakeRequest = { at: Date.now(), path, authorized, body };
      requests.push(r);
      if (req.method !== 'POST' || !/^(\/api\/v1)?\/chat\/completions$/.test(path)) { r.status = 404; return send(res, 404, errorBody(404, 'Not Found')); }
      if (!authorized) { r.status = 401; return send(res, 401, errorBody(401, 'No auth credentials found')); }
      if (!body || typeof body.model !== 'string' || !Array.isArray(body.messages)) {
        r.status = 400; return send(res, 400, errorBody(400, 'Invalid request: model and messages are required'));
      }
      const b = queue.shift() ?? fake.fallback;
      answer(b, r, res).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeOpenRouter = {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    requests,
    calls: () => requests.filter((r) => r.authorized && /chat\/completions$/.test(r.path)).length,
    script: (...b) => { queue.push(...b); },
    fallback: { kind: 'ok' },
    improve,
    reset() { queue.length = 0; requests.length = 0; fake.fallback = { kind: 'ok' }; },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
