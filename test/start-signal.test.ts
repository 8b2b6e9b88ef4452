// A SIGTERM that arrives while the app is still starting (HTTP already listening, the pool
// not yet started) ends in the orderly stop, exit 0, with nothing left running: Render
// stops deploys that are slow to turn healthy, and that signal must not be Node's default exit.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDb, type TestDb } from './support/db.ts';
import { spawnCli, type Proc } from './support/procs.ts';

let db: TestDb;
const procs: Proc[] = [];
before(async () => { db = await createTestDb(); });
after(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  await db.drop();
});

test('SIGTERM during start: the app finishes starting, then stops in order and exits 0', { timeout: 60_000 }, async () => {
  for (let round = 0; round < 3; round++) {
    const app = spawnCli(['start', '--no-bot'], { DATABASE_URL: db.url, PORT: '0', INSTANCE_ID: `early-${round}`, LOG_LEVEL: 'info' });
    procs.push(app);
    // The first moment a deploy could be stopped from outside: HTTP is up, the rest is not.
    await app.waitForJson((o: { msg?: string }) => /^HTTP on/.test(o.msg ?? ''));
    app.child.kill('SIGTERM');
    const exit = await app.exited;
    assert.equal(exit.code, 0, app.lines.slice(-5).join('\n'));
    const msgs = app.lines.map((l) => { try { return JSON.parse(l).msg; } catch { return ''; } });
    assert.ok(msgs.includes('stopped'), 'the orderly stop ran to its end');
  }
  const [r] = await db.sql`select count(*)::int as n from public.jobs where status = 'running'`;
  assert.equal(r.n, 0, 'nothing left running');
  const [w] = await db.sql`select count(*)::int as n from public.workers`;
  assert.equal(w.n, 0, 'every instance deregistered');
});
