// Waiting helpers shared by the tests: on a condition (with a deadline), and on a port.
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls fn until it returns something truthy; errors count as "not yet" (e.g. while a database is away). */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, ms = 10_000, what = 'condition', everyMs = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A port nobody listens on right now: someone may take it before it is used. */
const unusedPort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const port = (s.address() as { port: number }).port;
    s.close(() => resolve(port));
  });
});

/**
 * For servers that need their port up front (embedded Postgres): start(port) on a port
 * unused right now; when another program took it in between (portTaken(error)), the
 * whole start again on another. Servers that can bind port 0 and report it should.
 */
export async function startOnFreePort<T>(start: (port: number) => Promise<T>, portTaken: (err: unknown) => boolean, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start(await unusedPort());
    } catch (err) {
      if (i >= tries || !portTaken(err)) throw err;
    }
  }
}
