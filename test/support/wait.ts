// Polling helpers shared by the tests.
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

/** A TCP port free on 127.0.0.1 right now. */
export const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const port = (s.address() as { port: number }).port;
    s.close(() => resolve(port));
  });
});
