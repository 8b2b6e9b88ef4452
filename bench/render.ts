// render: src/cards called directly in a child process of its own (clean peak RSS).
import { cpus } from 'node:os';
import { spawnChild } from './lib.ts';

export async function renderScenario(o: { quick: boolean }) {
  const c = spawnChild('render-child.ts', { cards: o.quick ? 50 : 300, concurrency: 25 });
  const r = await c.next((m) => typeof m.cardsPerSec === 'number', 300_000);
  return { system: 'neurocards', ...r, cardsPerSecPerCore: r.cardsPerSec / cpus().length };
}
