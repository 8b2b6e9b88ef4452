// noop: sleeps payload.ms milliseconds. For diagnostics (`neurocards enqueue noop`)
// and benchmarks; honours its AbortSignal like every real job must.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineJob } from '../registry.ts';

export const noopJob = defineJob({
  kind: 'noop',
  payload: z.object({ ms: z.number().int().min(0).max(3_600_000).default(0) }).strict(),
  policy: 'fast',
  timeoutMs: 60_000,
  async handle({ ms }, ctx) {
    // ctx.signal is made on first read; a zero-length job need not pay for one
    if (ms > 0) await sleep(ms, undefined, { signal: ctx.signal });
    return undefined;
  },
});
