// INFLIGHT_ROWS=ai|nokeys (default both), INFLIGHT_CARDS (ai row; default 200, --quick 50),
// INFLIGHT_LATENCY_S (default 20).
// inflight (issue 15 item 7): the real app process (src/cli.ts start: API on, no bot) as
// one instance, cards submitted over HTTP.
//   ai:     JOB_CONCURRENCY=200, the fake OpenRouter (test/support) answering every image
//           call in 20 s with a photo-sized PNG, 10 keys with limits that never throttle;
//           200 cards with marketplace and variant chosen in advance. Sampled every 250 ms:
//           cards' jobs running, image calls open at the provider, RSS of the app process,
//           the CPU limit's queue (cards_cpu_slots in /metrics). Then time to drain, lost.
//   nokeys: the same app without keys; 20 cards at once without a variant: create →
//           awaiting_choice (3 variants) and choice → succeeded (the set), per card.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import postgres from 'postgres';
import { ApiDb } from '../src/api/db.ts';
import { createKey } from '../src/api/keys.ts';
import { synthCase } from '../src/cards/cutout/synth.ts';
import { postgresRpc } from '../src/db/rpc/postgres.ts';
import { migrate } from '../src/db/migrate.ts';
import { fakePng, startFakeOpenRouter } from '../test/support/fake-openrouter.ts';
import { ROOT, createDb, median, nowMs, pct, round, sleep } from './lib.ts';

type Log = (s: string) => void;

const freePort = () => new Promise<number>((resolve, reject) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
  s.on('error', reject);
});

/** VmRSS and VmHWM (peak) of a process, MB. */
function rss(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

async function startApp(env: Record<string, string>, log: Log): Promise<{ proc: ChildProcess; base: string; stop(): Promise<void> }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), LOG_LEVEL: 'warn', MAINTENANCE_EVERY_S: '0',
      // glibc malloc arenas: 2, as render.yaml deploys the app (per-thread arenas held
      // 863 MiB peak vs 564 MiB in an A/B at 200 cards); MALLOC_ARENA_MAX=8 etc. to compare.
      // A fixed mmap threshold, as render.yaml sets it too: multi-MB buffers (image answers,
      // photos) are mmapped and returned on free instead of fragmenting the brk heap (which
      // held 529 of 700 MB RSS in the run without it). MALLOC_MMAP_THRESHOLD_=0 etc. to compare.
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2', MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072',
      // Other glibc malloc tunables pass through for A/B runs.
      ...Object.fromEntries(Object.entries(process.env).filter(([k, v]) => k.startsWith('MALLOC_') && v != null)) as Record<string, string>,
      ...env },
  });
  // The app must not outlive the bench (a killed or failed bench leaves no orphan).
  const orphan = () => { if (proc.exitCode === null) proc.kill('SIGKILL'); };
  process.once('exit', orphan);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { orphan(); process.exit(130); });
  const errs: string[] = [];
  proc.stderr!.on('data', (c: Buffer) => { errs.push(c.toString()); if (process.env.BENCH_DEBUG) process.stderr.write(c); });
  proc.stdout!.on('data', (c: Buffer) => { if (process.env.BENCH_DEBUG) process.stderr.write(c); });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`the app exited: ${errs.join('').slice(-2000)}`);
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not yet */ }
    if (i > 600) throw new Error('the app did not start within 60 s');
    await sleep(100);
  }
  log(`  app pid ${proc.pid} on ${base}`);
  return {
    proc, base,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(30_000).then(() => proc.kill('SIGKILL'))]);
    },
  };
}

async function photos(n: number): Promise<Buffer[]> {
  // Products on plain, gradient and textured backgrounds (cut out) and cluttered ones (framed).
  return Promise.all(Array.from({ length: n }, async (_, i) => (await synthCase(i)).photo));
}

const form = (photo: Buffer, i: number, variant: number | null) => {
  const f = new FormData();
  f.append('photo', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'photo.jpg');
  f.append('title', `Термокружка ${i}`);
  for (const x of ['Держит тепло 8 часов', 'Без BPA']) f.append('features', x);
  f.append('price', '1290');
  f.append('template', ['clean', 'bold', 'promo'][i % 3]!);
  f.append('marketplace', i % 2 ? 'ozon' : 'wb');
  if (variant) f.append('variant', String(variant));
  return f;
};

/** Prometheus text → value of an unlabelled series. */
const gauge = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;

/** A histogram's quantile as the upper bound of the bucket it falls in (Prometheus text, cumulative buckets). */
function bucketQuantile(text: string, name: string, q: number): number | null {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))].map((m) => [Number(m[1]), Number(m[2])] as const);
  const total = buckets.at(-1)?.[1] ?? 0;
  if (!total) return null;
  return buckets.find(([, n]) => n >= q * total)?.[0] ?? null;
}

/** Prometheus text → value of one series. */
const metric = (text: string, name: string, labels: string) =>
  Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

async function prepareDb(label: string) {
  const db = await createDb(label);
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  await migrate(sql);
  const { key } = await createKey(new ApiDb(postgresRpc(sql)), { name: 'bench' });
  return { db, sql, key };
}

/** One run of the AI row. */
async function aiRun(n: number, latencyS: number, log: Log) {
  const keys = Array.from({ length: 10 }, (_, i) => `sk-or-v1-bench-${i}`);
  const or = await startFakeOpenRouter({ keys, latencySeconds: latencyS });
  or.png = await fakePng(7, 832, 1248, true); // photo-like entropy: a real answer's size (~2.6 MB)
  const { db, sql, key } = await prepareDb('inflight');
  const app = await startApp({
    DATABASE_URL: db.url, JOB_CONCURRENCY: '200', INSTANCE_ID: 'bench-inflight',
    OPENROUTER_API_KEYS: keys.join(','), OPENROUTER_BASE_URL: or.baseUrl,
    AI_RATE_PER_MINUTE: '100000', AI_RATE_PER_HOUR: '1000000', AI_RATE_PER_DAY: '10000000',
  }, log);
  try {
    const pics = await photos(8);
    const samples: Array<{ t: number; running: number; aiOpen: number; rss: number; cpuWaiting: number; cpuActive: number; heap: number; external: number }> = [];
    let sampling = true;
    const t0 = nowMs();
    const sampler = (async () => {
      while (sampling) {
        try {
          const m = await (await fetch(`${app.base}/metrics`)).text();
          const [{ running }] = await sql`select count(*)::int as running from jobs where status = 'running' and kind in ('api-card', 'api-card-set')`;
          const aiOpen = or.requests.filter((r) => r.authorized && r.status === undefined).length;
          samples.push({ t: (nowMs() - t0) / 1000, running, aiOpen, rss: rss(app.proc.pid!).rss,
            cpuWaiting: metric(m, 'cards_cpu_slots', 'state="waiting"'), cpuActive: metric(m, 'cards_cpu_slots', 'state="active"'),
            // Where the memory is: V8's heap vs memory outside it (Buffers, ArrayBuffers, sharp's inputs).
            heap: gauge(m, 'nodejs_heap_size_used_bytes'), external: gauge(m, 'nodejs_external_memory_bytes') });
        } catch { /* the app is busy: next sample */ }
        await sleep(250);
      }
    })();
    // Submit every card at once (20 requests at a time: the upload, not the queue, is the limit here).
    const ids: string[] = [];
    for (let i = 0; i < n; i += 20) {
      ids.push(...await Promise.all(Array.from({ length: Math.min(20, n - i) }, async (_, k) => {
        const r = await fetch(`${app.base}/api/cards`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form(pics[(i + k) % pics.length]!, i + k, ((i + k) % 3) + 1) });
        if (r.status !== 202) throw new Error(`POST /api/cards: ${r.status} ${await r.text()}`);
        return (await r.json() as { id: string }).id;
      })));
    }
    const tSubmitted = (nowMs() - t0) / 1000;
    let done = 0, dead = 0;
    const deadline = nowMs() + 900_000;
    for (;;) {
      const [r] = await sql`select count(*) filter (where c.set_at is not null and c.renders = 1)::int as done,
          count(*) filter (where j.status = 'dead' or s.status = 'dead')::int as dead
        from api_cards c join jobs j on j.id = c.job_id left join jobs s on s.id = c.set_job_id`;
      ({ done, dead } = r as { done: number; dead: number });
      if (done + dead >= n || nowMs() > deadline) break;
      await sleep(250);
    }
    const drainS = (nowMs() - t0) / 1000;
    sampling = false;
    await sampler;
    const peak = rss(app.proc.pid!).hwm;
    const finalMetrics = await (await fetch(`${app.base}/metrics`)).text().catch(() => '');
    const atPeak = samples.reduce((a, b) => (b.rss > a.rss ? b : a), samples[0]!);
    const [{ calls, paid }] = await sql`select count(*)::int as calls, coalesce(sum(paid_calls), 0)::int as paid from ai_calls`.catch(() => [{ calls: null, paid: null }]);
    const variants = (await sql`select count(*)::int as n from api_card_images where role = 'variant'`)[0]!.n as number;
    return {
      cards: n, submittedS: round(tSubmitted), drainS: round(drainS),
      maxRunning: Math.max(...samples.map((s) => s.running)),
      secondsAt200: round(samples.filter((s) => s.running >= 200).length * 0.25),
      maxAiOpen: Math.max(...samples.map((s) => s.aiOpen)),
      peakRssMb: Math.round(peak),
      // Sampled every 250 ms: the sample with the highest RSS, and each part's own maximum.
      atPeakSampleMb: { rss: Math.round(atPeak.rss), heap: Math.round(atPeak.heap), external: Math.round(atPeak.external) },
      heapMaxMb: Math.round(Math.max(...samples.map((s) => s.heap))), externalMaxMb: Math.round(Math.max(...samples.map((s) => s.external))),
      // ai_record_window_seconds (answer headers → ledger commit), bucket upper bounds.
      recordWindowS: { p50: bucketQuantile(finalMetrics, 'ai_record_window_seconds', 0.5), p99: bucketQuantile(finalMetrics, 'ai_record_window_seconds', 0.99) },
      cpuWaitingMax: Math.max(...samples.map((s) => s.cpuWaiting)),
      cpuWaitingP50: median(samples.map((s) => s.cpuWaiting)),
      cpuActiveMax: Math.max(...samples.map((s) => s.cpuActive)),
      succeeded: done, dead, lost: n - done,
      providerCalls: or.calls(), aiCallRows: calls, paidCalls: paid, variants,
      samples: samples.filter((_, i) => i % 4 === 0).map((s) => [round(s.t), s.running, s.aiOpen, Math.round(s.rss), s.cpuWaiting, Math.round(s.heap), Math.round(s.external)]),
    };
  } finally {
    await app.stop();
    await sql.end({ timeout: 2 });
    await or.close();
    await db.drop().catch(() => {});
  }
}

/** One run of the no-key row: 20 cards at once without a variant, then each one's choice. */
async function noKeysRun(n: number, log: Log) {
  const { db, sql, key } = await prepareDb('inflight_nokeys');
  const app = await startApp({ DATABASE_URL: db.url, JOB_CONCURRENCY: '200', INSTANCE_ID: 'bench-nokeys' }, log);
  try {
    const pics = await photos(8);
    const auth = { authorization: `Bearer ${key}` };
    const get = async (id: string) => (await (await fetch(`${app.base}/api/cards/${id}`, { headers: auth })).json()) as { status: string; timings: Record<string, number> };
    const until = async (id: string, status: string) => {
      for (;;) {
        const c = await get(id);
        if (c.status === status) return c;
        if (c.status === 'dead' || c.status === 'canceled') throw new Error(`card ${id}: ${JSON.stringify(c)}`);
        await sleep(100);
      }
    };
    const forms = pics.map((p, i) => form(p, i, null));
    const one = async (i: number) => {
      const t0 = nowMs();
      const r = await fetch(`${app.base}/api/cards`, { method: 'POST', headers: auth, body: forms[i % forms.length]! });
      if (r.status !== 202) throw new Error(`POST /api/cards: ${r.status} ${await r.text()}`);
      const { id } = await r.json() as { id: string };
      const v = await until(id, 'awaiting_choice');
      const variantsMs = nowMs() - t0;
      const t1 = nowMs();
      const c = await fetch(`${app.base}/api/cards/${id}/choice`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ variant: 2 }) });
      if (c.status !== 202) throw new Error(`POST choice: ${c.status}`);
      const s = await until(id, 'succeeded');
      return { variantsMs, setMs: nowMs() - t1, stages: { ...v.timings, ...s.timings } };
    };
    const rs = await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
    const srt = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const st = (k: string) => Math.round(median(rs.map((r) => r.stages[k] ?? NaN)));
    return {
      cards: n,
      variantsP50Ms: Math.round(median(rs.map((r) => r.variantsMs))), variantsP90Ms: Math.round(pct(srt(rs.map((r) => r.variantsMs)), 90)),
      setP50Ms: Math.round(median(rs.map((r) => r.setMs))), setP90Ms: Math.round(pct(srt(rs.map((r) => r.setMs)), 90)),
      stageCutoutP50Ms: st('cutout'), stageVariantsP50Ms: st('variants'), stageSetP50Ms: st('set'),
      peakRssMb: Math.round(rss(app.proc.pid!).hwm),
    };
  } finally {
    await app.stop();
    await sql.end({ timeout: 2 });
    await db.drop().catch(() => {});
  }
}

export async function inflightScenario(o: { quick: boolean; runs: number }, log: Log) {
  const n = Number(process.env.INFLIGHT_CARDS ?? (o.quick ? 50 : 200));
  const rowsWanted = (process.env.INFLIGHT_ROWS ?? 'ai,nokeys').split(',');
  const latencyS = Number(process.env.INFLIGHT_LATENCY_S ?? 20);
  const rows: Record<string, unknown>[] = [];
  const ai: Array<Record<string, unknown>> = [];
  for (let r = 0; r < o.runs && rowsWanted.includes('ai'); r++) {
    log(`inflight: run ${r + 1}/${o.runs}: ${n} API cards, JOB_CONCURRENCY=200, fake provider answering in ${latencyS} s`);
    const x = await aiRun(n, latencyS, log);
    log(`  ${JSON.stringify({ ...x, samples: undefined })}`);
    log(`  samples [t s, cards running, image calls open, RSS MB, CPU waiting]: ${JSON.stringify(x.samples)}`);
    ai.push(x);
  }
  const nk: Array<Record<string, unknown>> = [];
  for (let r = 0; r < o.runs && rowsWanted.includes('nokeys'); r++) {
    log(`inflight: run ${r + 1}/${o.runs}: no keys, 20 cards at once without a variant, then the choice`);
    const x = await noKeysRun(20, log);
    log(`  ${JSON.stringify(x)}`);
    nk.push(x);
  }
  const med = (xs: Record<string, unknown>[], k: string) => median(xs.map((x) => Number(x[k])));
  const keysOf = (x: Record<string, unknown>) => Object.keys(x).filter((k) => typeof x[k] === 'number');
  if (ai.length) rows.push({ system: `ai (median of ${ai.length})`, ...Object.fromEntries(keysOf(ai[0]!).map((k) => [k, med(ai, k)])) });
  if (nk.length) rows.push({ system: `nokeys (median of ${nk.length})`, ...Object.fromEntries(keysOf(nk[0]!).map((k) => [k, med(nk, k)])) });
  return { rows, extra: { runs: o.runs, latencyS, load: (await import('node:os')).loadavg().map((x) => round(x, 2)) } };
}
