// render: src/cards called directly in a child process of its own (clean peak RSS), once
// per run; each figure is the median over the runs.
import { cpus } from 'node:os';
import { median, spawnChild } from './lib.ts';

export async function renderScenario(o: { quick: boolean; runs: number }) {
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < Math.max(1, o.runs); i++) {
    const c = spawnChild('render-child.ts', { cards: o.quick ? 50 : 300, concurrency: 25 });
    runs.push(await c.next((m) => typeof m.cardsPerSec === 'number', 300_000));
  }
  const row: Record<string, number> = {};
  for (const k of Object.keys(runs[0])) row[k] = median(runs.map((r) => r[k]));
  return { system: 'neurocards', ...row, cardsPerSecPerCore: row.cardsPerSec / cpus().length, runs: runs.length };
}
