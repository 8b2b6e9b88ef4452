// Loaded lazily so a scenario imports only the peers it runs.
import type { System } from './types.ts';

export async function loadSystem(name: string): Promise<System> {
  switch (name) {
    case 'neurocards': return (await import('./neurocards.ts')).neurocards;
    case 'raw': return (await import('./raw.ts')).raw;
    case 'graphile-worker': return (await import('./graphile.ts')).graphile;
    case 'pg-boss': return (await import('./pgboss.ts')).pgboss;
    case 'bullmq': return (await import('./bullmq.ts')).bullmq;
    default: throw new Error(`unknown system ${name}`);
  }
}
