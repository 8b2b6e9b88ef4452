// e2e: the generation flow through the real bot in webhook mode and the fake Telegram
// server, no AI keys (local backdrops). N users fill in an order each, then all press
// Confirm at once; two figures per user: confirm → the 3 variants delivered (the 1/2/3
// message arrived, after the album), and pick → the set delivered (the zip arrived, after
// the slides' album). All users pick at once too.
import { cpuUsage } from 'node:process';
import { loadavg } from 'node:os';
import type { Options } from './scenarios.ts';
import { TOKEN, buttons, fillOrder, startBotApp } from '../test/support/bot.ts';
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
    // Filling in is not measured; 4 at a time, since each photo's cut-out runs at upload
    // (the cut-out threads are one per core but one) and 20 at once can outwait the helper.
    const filled: Awaited<ReturnType<typeof fillOrder>>[] = [];
    for (let i = 0; i < us.length; i += 4) filled.push(...await Promise.all(us.slice(i, i + 4).map((u) => fillOrder(u, photo))));
    // CPU of this process (app, fake Telegram, harness; not Postgres) per order in each phase:
    // unlike the wall clock, it does not depend on what else the box is running.
    const c0 = cpuUsage();
    const variants = await Promise.all(filled.map(async ({ summary, confirmData }, i) => {
      const t0 = performance.now();
      us[i].pressButton(summary.message_id, confirmData);
      const choice = await us[i].waitForMessage((m) => buttons(m).some((b) => b.startsWith('pick:')), 120_000);
      return { ms: performance.now() - t0, choice };
    }));
    const c1 = cpuUsage();
    const set = await Promise.all(variants.map(async ({ choice }, i) => {
      const t0 = performance.now();
      us[i].pressButton(choice.message_id, buttons(choice)[i % 3]);
      await us[i].waitForMessage((m) => m.kind === 'document', 120_000);
      return performance.now() - t0;
    }));
    const c2 = cpuUsage();
    const perOrderMs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000 / users;
    const v = variants.map((x) => x.ms).sort((a, b) => a - b);
    set.sort((a, b) => a - b);
    return {
      variantsP50Ms: pct(v, 0.5), variantsP95Ms: pct(v, 0.95), variantsMaxMs: v.at(-1)!,
      setP50Ms: pct(set, 0.5), setP95Ms: pct(set, 0.95), setMaxMs: set.at(-1)!,
      variantsCpuMsPerOrder: perOrderMs(c0, c1), setCpuMsPerOrder: perOrderMs(c1, c2),
    };
  } finally {
    await app.stop();
    await proxy.close();
    await tg.close();
    await db.drop();
  }
}

export async function e2eScenario(o: Options, log: (s: string) => void) {
  const users = o.quick ? 5 : 20;
  log(`e2e: ${users} users confirm at once, then pick at once; confirm → 3 variants delivered, pick → set delivered (webhook mode, fake Telegram, no keys)`);
  const runs: Awaited<ReturnType<typeof oneRun>>[] = [];
  const load: string[] = [];
  for (let r = 0; r < o.runs; r++) {
    const l0 = loadavg()[0];
    runs.push(await oneRun(users));
    load.push(`${l0.toFixed(1)}→${loadavg()[0].toFixed(1)}`);
  }
  const median = (k: keyof (typeof runs)[0]) => runs.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  const each = runs.map((r, i) => `variants p50 ${Math.round(r.variantsP50Ms)} / set p50 ${Math.round(r.setP50Ms)} ms, ` +
    `CPU per order ${Math.round(r.variantsCpuMsPerOrder)} / ${Math.round(r.setCpuMsPerOrder)} ms (load ${load[i]})`);
  log(`e2e runs: ${each.join('; ')}`);
  return [{
    system: 'neurocards', users,
    variantsP50Ms: Math.round(median('variantsP50Ms')), variantsP95Ms: Math.round(median('variantsP95Ms')), variantsMaxMs: Math.round(median('variantsMaxMs')),
    setP50Ms: Math.round(median('setP50Ms')), setP95Ms: Math.round(median('setP95Ms')), setMaxMs: Math.round(median('setMaxMs')),
    variantsCpuMsPerOrder: Math.round(median('variantsCpuMsPerOrder')), setCpuMsPerOrder: Math.round(median('setCpuMsPerOrder')),
    targetMs: 5000, runs: runs.length,
  }];
}
