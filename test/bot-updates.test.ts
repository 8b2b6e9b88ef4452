// Updates in: webhook mode (secret token, update_id dedupe, fast answers) and long
// polling held by one leader across processes (no 409, takeover when the leader dies).
import assert from 'node:assert/strict';
import { after as afterAll, before, describe, test } from 'node:test';
import type { RunningApp } from '../src/main.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { startFakeTelegram, type FakeTelegram } from './support/fake-telegram.ts';
import { spawnCli, type Proc } from './support/procs.ts';
import { waitFor } from './support/wait.ts';
import { TOKEN, after, botEnv, startBotApp } from './support/bot.ts';
import { startProxy, type Proxy } from './support/proxy.ts';

describe('webhook mode', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  let app: RunningApp;
  let port: number;
  let proxy: Proxy; // the webhook URL, known before the app's port
  const SECRET = 'test-secret_123';
  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
    proxy = await startProxy();
    app = await startBotApp(db.url, tg, {
      TELEGRAM_THROTTLE: 'false', PORT: '0', WEBHOOK_URL: `http://127.0.0.1:${proxy.port}`, TELEGRAM_WEBHOOK_SECRET: SECRET,
    }, { worker: false });
    port = app.port;
    proxy.targets.push(port);
  });
  afterAll(async () => {
    await app?.stop();
    await proxy?.close();
    await tg?.close();
    await db?.drop();
  });

  const post = (body: unknown, secret?: string) => fetch(`http://127.0.0.1:${port}/telegram`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
  });

  test('sets the webhook with the secret token at start', () => {
    const info = tg.webhookInfo();
    assert.equal(info.url, `http://127.0.0.1:${proxy.port}/telegram`);
    assert.equal(info.secret_token, SECRET);
  });

  test('POST /telegram without or with a wrong secret token is rejected with 401', async () => {
    const update = { update_id: 1, message: { message_id: 1, date: 0, chat: { id: 9, type: 'private' }, from: { id: 9, is_bot: false, first_name: 'X' }, text: '/help' } };
    assert.equal((await post(update)).status, 401);
    assert.equal((await post(update, 'wrong')).status, 401);
    const [{ n }] = await db.sql`select count(*)::int as n from public.processed_updates`;
    assert.equal(n, 0, 'a rejected update is not even recorded');
  });

  test('a duplicated delivery (same update_id) is handled once, and answered within a second', async () => {
    const u = tg.user(8001, { languageCode: 'en' });
    tg.duplicateNextDelivery(1);
    const reply = await after(u, () => u.sendCommand('/start'));
    assert.match(reply.text!, /^Hi, /);
    await tg.waitFor(() => tg.webhookDeliveries.filter((d) => d.update_id === tg.updates.at(-1)!.update_id).length >= 2, 5000);
    const deliveries = tg.webhookDeliveries.filter((d) => d.update_id === tg.updates.at(-1)!.update_id);
    assert.ok(deliveries.every((d) => d.status === 200 && d.durationMs < 1000), JSON.stringify(deliveries));
    // Anchor: Telegram delivers a chat's updates in order, so once the next command is
    // answered, the duplicate delivery before it has been handled too.
    await after(u, () => u.sendCommand('/help'), (m) => /\/history/.test(m.text ?? ''));
    assert.equal(u.messages().filter((m) => /^Hi, /.test(m.text ?? '')).length, 1, 'answered once');
    // the same update posted again by hand is acknowledged as a duplicate
    const res = await post(tg.updates.at(-1), SECRET);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).duplicate, true);
  });

  test('/queue turns 503 and /telegram refuses once shutdown starts', async () => {
    const stopping = app.stop('test');
    const [q, t] = await Promise.all([fetch(`http://127.0.0.1:${port}/queue`).catch(() => null), post({ update_id: 99 }, SECRET).catch(() => null)]);
    await stopping;
    if (q) assert.equal(q.status, 503);
    if (t) assert.equal(t.status, 503);
  });
});

describe('long polling: one leader across processes', () => {
  let db: TestDb;
  let tg: FakeTelegram;
  const procs: Proc[] = [];
  before(async () => {
    db = await createTestDb();
    tg = await startFakeTelegram({ token: TOKEN });
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await tg?.close();
    await db?.drop();
  });

  test('two instances: one polls, no 409; SIGKILL the leader and the other takes over within seconds', async () => {
    const LEADER = 'polling leader: this instance polls Telegram';
    for (const id of ['poll-a', 'poll-b']) {
      procs.push(spawnCli(['start', '--no-worker'], { ...botEnv(db.url, tg, { LOG_LEVEL: 'info', TELEGRAM_THROTTLE: 'false' }), INSTANCE_ID: id }));
    }
    const first = await Promise.race(procs.map((p, i) => p.waitForJson((o: { msg?: string }) => o.msg === LEADER, 30_000).then(() => i)));
    const leader = procs[first];
    const follower = procs[1 - first];
    await follower.waitForJson((o: { msg?: string }) => /HTTP on/.test(o.msg ?? ''), 30_000);

    const u = tg.user(9001, { languageCode: 'en' });
    for (let i = 0; i < 3; i++) assert.match((await after(u, () => u.sendCommand('/help'))).text!, /\/history/);
    // Anchor: two election rounds of the follower (a failed pg_try_advisory_lock each) after the replies.
    const [{ since }] = await db.sql`select now() as since`;
    const rounds = new Set<string>();
    await waitFor(async () => {
      for (const r of await db.sql`select query_start::text as at from pg_stat_activity
          where datname = current_database() and query like 'select pg_try_advisory_lock%' and query_start > ${since}`) rounds.add(r.at);
      return rounds.size >= 2;
    }, 15_000, 'two election rounds of the follower');
    assert.equal(tg.calls.filter((c) => c.status === 409).length, 0, 'no 409 Conflict while both run');
    assert.ok(!follower.lines.some((l) => l.includes(LEADER)), 'the follower does not poll');

    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    await follower.waitForJson((o: { msg?: string }) => o.msg === LEADER, 15_000);
    const takeoverMs = Date.now() - killedAt;
    const reply = await after(u, () => u.sendCommand('/help'), undefined, 15_000);
    assert.match(reply.text!, /\/history/);
    console.log(`# polling takeover after SIGKILL of the leader: ${takeoverMs} ms`);
    assert.ok(takeoverMs < 10_000);
  });
});
