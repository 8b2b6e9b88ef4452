// A fetch() for the RPC adapters over node:http(s) with a keep-alive agent. The global
// fetch (undici) builds WHATWG streams, Request and Headers objects per call: ~2 ms of
// CPU per RPC on a 2-core box, more than the call's SQL. This one is a plain request and
// a buffered body, and answers with a standard Response so supabase-js reads it as usual.
// Bodies other than strings and buffers (uploads) go to the global fetch.
import http from 'node:http';
import https from 'node:https';

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

export function keepAliveFetch(timeoutMs: number): typeof fetch {
  return (input, init) => {
    const body = init?.body;
    if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      return fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
    }
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const mod = url.protocol === 'https:' ? https : http;
    const agent = agents[url.protocol as keyof typeof agents];
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => { headers[k] = v; });
    return new Promise<Response>((resolve, reject) => {
      const signal = init?.signal;
      if (signal?.aborted) return reject(signal.reason);
      let done = false;
      const finish = (err: unknown, res?: Response) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err); else resolve(res!);
      };
      const req = mod.request(url, { method: init?.method ?? 'GET', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => finish(e));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined) continue;
            for (const x of Array.isArray(v) ? v : [v]) h.append(k, x);
          }
          const status = res.statusCode ?? 502;
          const nullBody = status === 204 || status === 205 || status === 304;
          finish(null, new Response(nullBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage, headers: h }));
        });
      });
      const onAbort = () => { req.destroy(); finish(signal!.reason); };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => {
        req.destroy();
        finish(new DOMException(`request timed out after ${timeoutMs} ms`, 'TimeoutError'));
      }, timeoutMs);
      req.on('error', (e) => finish(e));
      req.end(body ?? undefined);
    });
  };
}
