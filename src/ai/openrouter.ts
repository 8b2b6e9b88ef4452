// One HTTP call to an OpenRouter-compatible chat completions endpoint
// (POST {baseUrl}/chat/completions, Bearer key). No retries and no limiter here
// (provider.ts decides those); failures come back as typed errors that carry only
// what the caller needs to decide: status, Retry-After, timeout. The key is only ever
// put in the Authorization header, never into an error message.

export interface OpenRouterOptions {
  baseUrl: string;
  apiKey: string;
  model: string;
  /** Sent as X-Title (OpenRouter's app attribution); harmless elsewhere. */
  appName?: string;
}

export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }

export interface ChatRequest {
  messages: ChatMessage[];
  /** OpenAI-compatible response_format, e.g. a json_schema. */
  responseFormat?: unknown;
  temperature?: number;
  maxTokens?: number;
}

export type AiFailure = 'rate_limited' | 'server_error' | 'timeout' | 'network' | 'rejected' | 'bad_response';

export class AiCallError extends Error {
  constructor(
    readonly kind: AiFailure,
    message: string,
    readonly status?: number,
    /** From Retry-After on a 429, in ms (undefined when absent or unparseable). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'AiCallError';
  }
}

/** Retry-After as seconds or an HTTP date → ms from now (never negative). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value == null || value.trim() === '') return undefined;
  const s = Number(value.trim());
  if (Number.isFinite(s)) return Math.max(0, Math.round(s * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Answers larger than this are refused while they stream in (a text answer is a few KB). */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/**
 * The body as one Buffer, read as a stream and cut off past `maxBytes`: no intermediate
 * string (res.text() holds the chunks, their concatenation and a UTF-16/UTF-8 string).
 * With a Content-Length the chunks are copied straight into one buffer of that size.
 */
async function readCapped(res: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length'));
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new AiCallError('bad_response', `answer of ${declared} bytes is over the ${maxBytes} byte cap`, res.status);
  }
  if (!res.body) return Buffer.alloc(0);
  const sized = Number.isInteger(declared) && declared > 0 ? Buffer.allocUnsafeSlow(declared) : null;
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    if (n + chunk.byteLength > maxBytes) throw new AiCallError('bad_response', `answer is over the ${maxBytes} byte cap`, res.status);
    if (sized && n + chunk.byteLength <= sized.length) sized.set(chunk, n);
    else chunks.push(chunk);
    n += chunk.byteLength;
  }
  if (sized && chunks.length === 0) return n === sized.length ? sized : sized.subarray(0, n);
  return Buffer.concat(sized ? [sized.subarray(0, Math.min(n, sized.length)), ...chunks] : chunks, n);
}

/** OpenRouter can answer 200 with an error object (e.g. the upstream model failed). */
export function throwIfErrorBody(body: any, res: { status: number; headers: Headers }): void {
  if (!body?.error) return;
  const code = Number(body.error.code);
  if (code === 429) throw new AiCallError('rate_limited', 'error 429 in body', 429, parseRetryAfter(res.headers.get('retry-after')));
  if (code >= 500) throw new AiCallError('server_error', `error ${code} in body`, code);
  throw new AiCallError('rejected', `error ${Number.isFinite(code) ? code : '?'} in body`, Number.isFinite(code) ? code : undefined);
}

/**
 * POSTs one chat completion body and returns the 200 answer's raw bytes (read with a byte
 * cap), or throws an AiCallError for HTTP trouble. `timeoutMs` bounds the whole call
 * (headers and body; with beforeBody, each of the two); `signal` aborts it from outside.
 * The caller parses the body.
 */
export async function postChatRaw(o: Omit<OpenRouterOptions, 'model'>, payload: Record<string, unknown>, timeoutMs: number,
  signal?: AbortSignal, maxBytes = MAX_ANSWER_BYTES,
  /** Awaited between the headers and the body (an image caller's admission: the body waits in the socket meanwhile). */
  beforeBody?: () => Promise<void>): Promise<{ raw: Buffer; res: Response; receivedAt: number }> {
  // The time limit covers the wait for the headers and, separately, the body: a wait for
  // admission in between (beforeBody) is not the provider's slowness, and an answer that has
  // arrived is paid for, so it must not be thrown away for waiting its turn.
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  if (signal?.aborted) ac.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const arm = () => setTimeout(() => { timedOut = true; ac.abort(); }, timeoutMs);
  let timer = arm();
  const url = `${o.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  let res: Response;
  let raw: Buffer;
  let receivedAt = 0;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${o.apiKey}`,
        'content-type': 'application/json',
        ...(o.appName ? { 'x-title': o.appName } : {}),
      },
      body: JSON.stringify(payload),
      signal: ac.signal,
    });
    receivedAt = performance.now(); // the provider has answered (and billed): the kill window opens
    if (res.ok && beforeBody) {
      clearTimeout(timer);
      await beforeBody();
      timer = arm();
    }
    // Error statuses carry small bodies; drain them with a small cap.
    raw = await readCapped(res, res.ok ? maxBytes : 1024 * 1024);
  } catch (err) {
    if (err instanceof AiCallError) throw err;
    if (timedOut && !signal?.aborted) throw new AiCallError('timeout', `no answer within ${timeoutMs} ms`);
    if (signal?.aborted) throw new AiCallError('network', 'aborted');
    throw new AiCallError('network', `request failed: ${(err as Error).name}`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  if (res.status === 429) {
    throw new AiCallError('rate_limited', 'HTTP 429', 429, parseRetryAfter(res.headers.get('retry-after')));
  }
  if (res.status >= 500) throw new AiCallError('server_error', `HTTP ${res.status}`, res.status);
  if (!res.ok) throw new AiCallError('rejected', `HTTP ${res.status}`, res.status);
  return { raw, res, receivedAt };
}

/** POSTs one chat completion body and returns the parsed JSON answer, or throws an AiCallError. */
export async function postChat(o: Omit<OpenRouterOptions, 'model'>, payload: Record<string, unknown>, timeoutMs: number, signal?: AbortSignal): Promise<any> {
  const { raw, res } = await postChatRaw(o, payload, timeoutMs, signal);
  let body: any;
  try { body = JSON.parse(raw.toString('utf8')); } catch { throw new AiCallError('bad_response', 'response is not JSON', res.status); }
  throwIfErrorBody(body, res);
  return body;
}

/** Sends one chat completion and returns the assistant message content. */
export async function chatCompletion(o: OpenRouterOptions, req: ChatRequest, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const body = await postChat(o, {
    model: o.model,
    messages: req.messages,
    ...(req.responseFormat ? { response_format: req.responseFormat } : {}),
    ...(req.temperature != null ? { temperature: req.temperature } : {}),
    ...(req.maxTokens != null ? { max_tokens: req.maxTokens } : {}),
  }, timeoutMs, signal);
  const content = body?.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw new AiCallError('bad_response', 'no message content');
  return content;
}
