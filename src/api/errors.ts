// Every API error is JSON {error: {code, message}} with its HTTP status.
export type ApiStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 429 | 500 | 503;

export class ApiError extends Error {
  constructor(
    readonly status: ApiStatus,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const errorBody = (code: string, message: string) => ({ error: { code, message } });

const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN',
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
]);

/**
 * True when an error means the database cannot be reached (→ 503), as opposed to a
 * bug or a constraint (→ 500): network errors, fetch failures in RPC mode, and the
 * SQLSTATE classes for connection failure (08), operator intervention (57P0x) and
 * too many connections (53300).
 */
export function isDatabaseDown(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (CONNECTION_CODES.has(code)) return true;
  if (/^08|^57P0|^53300$/.test(code)) return true;
  if (e.name === 'TypeError' && /fetch failed/i.test(String(e.message))) return true;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  // supabase-js wraps a failed fetch as {message: 'TypeError: fetch failed'} with an empty code
  if (/fetch failed|ECONNREFUSED|network/i.test(String(e.message)) && !/^[0-9A-Z]{5}$/.test(code)) return true;
  return e.cause ? isDatabaseDown(e.cause) : false;
}
