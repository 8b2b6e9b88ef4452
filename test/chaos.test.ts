// The short chaos run (the full one is `npm run chaos`): kills, a Postgres restart and a
// 429 burst while cards are rendered and delivered; nothing lost, stuck or duplicated
// beyond the answer-to-commit window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnTs } from './support/procs.ts';

test('chaos --short: lost 0, stuck 0, every duplicate explained, every order delivered', { timeout: 420_000 }, async () => {
  const run = spawnTs('test/chaos/run.ts', ['--short'], {});
  const { code } = await run.exited;
  const line = run.lines.find((l) => l.startsWith('{"orders"'));
  assert.ok(line, `no result line; output:\n${run.lines.slice(-20).join('\n')}`);
  const r = JSON.parse(line);
  console.log(`# chaos --short: ${line}`);
  assert.equal(r.lost, 0);
  assert.equal(r.stuck, 0);
  assert.equal(r.duplicatesUnexplained, 0);
  assert.equal(r.missingDeliveries, 0);
  assert.equal(r.cardsRendered, r.orders, 'each card rendered once');
  assert.ok(r.kills.sigkill + r.kills.sigterm >= 2, 'processes were killed');
  assert.equal(r.postgresRestarts, 1);
  assert.ok(r.telegram429s > 0, 'Telegram answered 429s');
  assert.equal(code, 0);
});
