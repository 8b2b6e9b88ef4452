// One guard for oversized request bodies, used by every route that reads one.
// A declared Content-Length over the limit is answered before parsing, after reading
// and dropping the body (up to 64 MB), so a client still sending gets the 413 rather
// than a reset connection. A chunked body is cut by hono's bodyLimit once it passes the
// limit; its unread rest makes the connection unusable, so that answer closes it.
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

const DRAIN_AT_MOST = 64 * 1024 * 1024;

export function limitBody(maxBytes: number, tooLarge: (c: Context) => Response | Promise<Response>): MiddlewareHandler {
  const chunked = bodyLimit({
    maxSize: maxBytes,
    onError: async (c) => {
      const res = await tooLarge(c);
      res.headers.set('Connection', 'close');
      return res;
    },
  });
  return async (c, next) => {
    const declared = Number(c.req.header('content-length') ?? NaN);
    if (declared > maxBytes) {
      if (declared <= DRAIN_AT_MOST && c.req.raw.body) {
        try { for await (const _ of c.req.raw.body) { /* drain */ } } catch { /* client gone */ }
      }
      return tooLarge(c);
    }
    return chunked(c, next);
  };
}
