// e2e: confirm → delivered card, through the real bot in webhook mode and the fake
// Telegram server. N users fill in an order each, then all press Confirm at once; the
// figure is the time from each press to that user's 900×1200 document arriving.
import type { Options } from './scenarios.ts';
import { TOKEN, after, fillOrder, startBotApp } from '../test/support/bot.ts';
import { startProxy } from '../test/support/proxy.ts';
import { createTestDb } from '../test/support/db.ts';
import { startFakeTelegram } from '../test/support/fake-telegram.ts';
import { productPhoto } from '../test/support/hostile-files.ts';

const pct = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function oneRun(users: number) {
  const db = await createTestDb({ prefix: 'nc_bench_e2e' });
  const tg = await startFakeTelegram({ token: TOKEN });
  // The webhook URL must exist before the app's port does: a port-0 proxy in front of it.
  const proxy = await startProxy();
  const app = await startBotApp(db.url, tg, {
    TELEGRAM_THROTTLE: 'false', PORT: '0', WEBHOOK_URL: `http://127.0.0.1:${proxy.port}`,
    TELEGRAM_WEBHOOK_SECRET: 'bench-secret', LOG_LEVEL: 'silent', JOB_CONCURRENCY: '25',
  });
  proxy.targets.push(app.port);
  try {
    const photo = await productPhoto(1280, 960);
    const us = Array.from({ length: users }, (_, i) => tg.user(500_000 + i, { languageCode: 'en' }));
    const filled = await Promise.all(us.map((u) => fillOrder(u, photo)));
    const ms = await Promise.all(filled.map(async ({ summary, confirmData }, i) => {
      const t0 = performance.now();
      await after(us[i], () => us[i].pressButton(summary.message_id, confirmData), (m) => m.kind === 'document', 120_000);
      return performance.now() - t0;
    }));
    ms.sort((a, b) => a - b);
    return { p50Ms: pct(ms, 0.5), p95Ms: pct(ms, 0.95), maxMs: ms.at(-1)! };
  } finally {
    await app.stop();
    await proxy.close();
    await tg.close();
    await db.drop();
  }
}

export async function e2eScenario(o: Options, log: (s: string) => void) {
  const users = o.quick ? 5 : 20;
  log(`e2e: ${users} users confirm at once; confirm → 900×1200 document delivered (webhook mode, fake Telegram)`);
  const runs: Awaited<ReturnType<typeof oneRun>>[] = [];
  for (let r = 0; r < o.runs; r++) runs.push(await oneRun(users));
  const median = (k: keyof (typeof runs)[0]) => runs.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  return [{ system: 'neurocards', users, p50Ms: Math.round(median('p50Ms')), p95Ms: Math.round(median('p95Ms')), maxMs: Math.round(median('maxMs')), runs: runs.length }];
}
