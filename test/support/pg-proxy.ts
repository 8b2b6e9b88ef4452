// A TCP proxy in front of Postgres that a test can cut: existing connections are
// reset and new ones refused (the port stops listening: ECONNREFUSED), exactly what an
// app sees when the database restarts or its host goes away, without stopping the
// shared server other tests use.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface PgProxy {
  port: number;
  /** Rewrites a database URL to go through the proxy. */
  urlFor(url: string): string;
  cut(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startPgProxy(target = { host: '127.0.0.1', port: 5432 }): Promise<PgProxy> {
  let down = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (down) { client.destroy(); return; } // accepted just before the cut
    const upstream = connect(target);
    sockets.add(client).add(upstream);
    const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    urlFor(url) { const u = new URL(url); u.hostname = '127.0.0.1'; u.port = String(port); return u.toString(); },
    cut() { down = true; server.close(); for (const s of sockets) s.destroy(); sockets.clear(); },
    restore: () => new Promise<void>((res, rej) => {
      down = false;
      server.once('error', rej).listen(port, '127.0.0.1', () => { server.off('error', rej); res(); });
    }),
    close: () => new Promise((res) => {
      for (const s of sockets) s.destroy();
      if (server.listening) server.close(() => res()); else res();
    }),
  };
}
