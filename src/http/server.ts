// Binds the Hono app to a port with @hono/node-server and closes it cleanly.
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

export function listen(app: Hono, port: number, hostname = '0.0.0.0'): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    let server: ServerType;
    const onError = (err: Error) => reject(err);
    server = serve({ fetch: app.fetch, port, hostname }, (info) => {
      server.off('error', onError);
      resolve({
        port: info.port,
        close: () => new Promise<void>((res) => {
          server.close(() => res());
          // Keep-alive connections would hold close() open until they time out.
          (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        }),
      });
    });
    server.once('error', onError);
  });
}
