// An HTTP proxy bound to port 0, in front of app servers that bind port 0 too: the URL
// an app must know before it starts (its WEBHOOK_URL) exists before the app's own port,
// without reserving a port and hoping it stays free. Round robin over the targets, like
// Render's load balancer.
import http from 'node:http';

export interface Proxy {
  port: number;
  /** Ports to forward to; set them once the apps have started. */
  targets: number[];
  /** Requests forwarded to each target, by index. */
  hits: number[];
  close(): Promise<void>;
}

export function startProxy(): Promise<Proxy> {
  let next = 0;
  const p: Proxy = { port: 0, targets: [], hits: [], close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }) };
  const server = http.createServer((req, res) => {
    if (p.targets.length === 0) { res.writeHead(503); res.end(); return; }
    const i = next++ % p.targets.length;
    p.hits[i] = (p.hits[i] ?? 0) + 1;
    const up = http.request({ host: '127.0.0.1', port: p.targets[i], path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    p.port = (server.address() as { port: number }).port;
    resolve(p);
  }));
}
