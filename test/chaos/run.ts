// `--ai` (or CHAOS_AI=1) adds API cards with AI backdrops from a fake provider (ai-cards.ts);
// its kills go to processes running API card jobs.
//
// The chaos run (`npm run chaos`; `--short` inside npm test): 3 app processes make and
// deliver orders (the cut-out and 3 variants, their album and 1/2/3 message; after the
// seller's pick, which this harness makes as the bot's handler would through
// order_choose(), the set and its album and zip) to the fake Telegram server while, for a minute, a random process is
// killed (SIGKILL or SIGTERM) every 2-5 s and restarted, Postgres is restarted once, and
// Telegram answers a burst of 429s. Then everything drains, and one JSON line says what
// happened. Exit status 0 only if nothing was lost, nothing is stuck, and every
// duplicate message is explained by an uncommitted row in order_deliveries: a delivery
// whose process died between Telegram's answer and the commit, or whose call was cut off
// (its send deadline, shutdown) after Telegram had taken the message. A send that outlives
// its lease is not repeated while it may still be under way (deliver-card's header).
//
// Postgres here is a private embedded instance on its own port, so restarting it does
// not disturb anything else on the machine.
//
// `--rpc` (or CHAOS_RPC=1): the app processes run in RPC mode (no database connection;
// every queue and order call over HTTP) through the PostgREST-compatible server
// (test/support/postgrest.ts), which also throws away `--lose` percent (default 1) of its
// answers after the call's transaction committed (the caller sees a reset connection)
// and is itself restarted once. A lost claim answer leaves jobs leased to a worker that
// never saw them: they wait out the lease and run once, elsewhere or later. A lost
// complete answer leaves the job succeeded; the retried complete finds it no longer
// leased and the pool logs "outcome not recorded". Neither runs a job twice.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import sharp from 'sharp';
import { EmbeddedPgError, startEmbedded, type EmbeddedDb } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { postgresOrderStore } from '../support/stores.ts';
import { createLogger } from '../../src/log.ts';
import { startFakeTelegram } from '../support/fake-telegram.ts';
import { startPostgrest, type PostgrestServer } from '../support/postgrest.ts';
import { spawnCli, type Proc } from '../support/procs.ts';
import { startOnFreePort } from '../support/wait.ts';
import { aiEnv, AiWorkload, measureAi, startAiProvider } from './ai-cards.ts';
import { createServer } from 'node:net';

const { values: args } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    orders: { type: 'string' },
    seconds: { type: 'string' },
    procs: { type: 'string', default: '3' },
    verbose: { type: 'boolean', default: false },
    rpc: { type: 'boolean', default: process.env.CHAOS_RPC === '1' },
    lose: { type: 'string', default: '1' },
    ai: { type: 'boolean', default: process.env.CHAOS_AI === '1' },
    cards: { type: 'string' },
  },
});
const AI = args.ai;
const CARDS = AI ? Number(args.cards ?? (args.short ? 12 : 60)) : 0;
const RPC = args.rpc;
const LOSE = RPC ? Number(args.lose) / 100 : 0;
if (!(LOSE >= 0 && LOSE < 1)) throw new Error(`--lose must be a percentage from 0 to under 100, got "${args.lose}"`);
// Four jobs per order: render (cut-out + 3 variants), deliver variants, set, deliver set.
// An order costs ~2-3 s of CPU (cut-out ~1 s, variants ~0.6-1.6 s, set ~0.4 s on this box),
// so the runs hold fewer orders than the single-card runs did (120 short, 2500 full).
const ORDERS = Number(args.orders ?? (args.short ? (AI ? 15 : 30) : (AI ? 120 : 300)));
const CHAOS_S = Number(args.seconds ?? (args.short ? 15 : 60));
const PROCS = Number(args.procs);
const LEASE_S = 5;
// RPC mode drains slower (every call is an HTTP round trip through one Node process).
const DRAIN_TIMEOUT_S = (args.short ? 240 : 900) * (args.rpc ? 2 : 1) + (args.ai ? 120 : 0);
const say = (msg: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const silent = createLogger({ level: 'silent' });

/** Retries harness queries across the planned Postgres restart. */
async function withRetry<T>(fn: () => Promise<T>, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try { return await fn(); } catch (err) {
      if (Date.now() > end) throw new Error(`${what}: ${(err as Error).message}`);
      await sleep(250);
    }
  }
}

const dir = mkdtempSync(join(tmpdir(), 'nc-chaos-'));
chmodSync(dir, 0o755); // as root, the embedded Postgres runs as user "postgres"
// Postgres needs its port up front: when another program takes it first, start again on another.
let pgPort = 0;
let pg: EmbeddedDb = await startOnFreePort((port) => startEmbedded({ dir: join(dir, 'pg'), port: pgPort = port, log: silent }),
  (err) => err instanceof EmbeddedPgError && /another program uses it/.test(err.message));
const sql = postgres(pg.url, { max: 4, onnotice: () => {}, connect_timeout: 5 });
await migrate(sql);
const orders = postgresOrderStore(sql);

// RPC mode: the app's only road to the database, on a fixed port so it can restart there.
let rest: PostgrestServer | null = null;
let restPort = 0;
// Jobs whose claim or complete answer was thrown away, to check afterwards what that cost.
const lostClaims: { id: string; attempts: number; at: number }[] = [];
const lostCompletes: { id: string; at: number }[] = [];
const startRest = (port: number) => startPostgrest({
  databaseUrl: pg.url, port, jwtSecret: rest?.jwtSecret,
  loseResponse: (fn, body) => {
    if (Math.random() >= LOSE) return false;
    const at = Date.now();
    if (fn === 'claim') for (const j of JSON.parse(body ?? '[]') as { id: string | number; attempts: number }[]) lostClaims.push({ id: String(j.id), attempts: j.attempts, at });
    if (fn === 'complete') for (const id of JSON.parse(body ?? '[]') as (string | number)[]) lostCompletes.push({ id: String(id), at });
    return true;
  },
});
const lostResponses: Record<string, number> = {};
const countLost = (r: PostgrestServer) => { for (const [k, n] of Object.entries(r.lostResponses)) lostResponses[k] = (lostResponses[k] ?? 0) + n; };
if (RPC) {
  rest = await startOnFreePort((port) => startRest(restPort = port), (err) => (err as NodeJS.ErrnoException).code === 'EADDRINUSE');
}

const token = '7000001:CHAOS-chaos-chaos-chaos-chaos-0001';
const tg = await startFakeTelegram({ token, requireStart: false });
const photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 120, b: 60 } } })
  .composite([{ input: Buffer.from('<svg width="640" height="480"><circle cx="320" cy="240" r="150" fill="#2a6"/></svg>') }])
  .jpeg().toBuffer();

// --- the workload: ORDERS orders from 200 users, each with its "queued" message ---------
const USERS = Math.min(200, ORDERS);
const photoIds: string[] = [];
for (let u = 0; u < USERS; u++) {
  const msg = tg.user(10_000 + u, { languageCode: u % 2 ? 'ru' : 'en', started: true }).sendPhoto(photo);
  photoIds.push((msg as { photo: { file_id: string }[] }).photo.at(-1)!.file_id);
}
const api = `${tg.apiRoot}/bot${token}`;
const orderIds: number[] = [];
const t0 = Date.now();
for (let i = 0; i < ORDERS; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, ORDERS - i) }, async (_, k) => {
    const n = i + k, user = 10_000 + (n % USERS);
    const r = await orders.confirm({
      key: `chaos-${n}`, userId: user, chatId: user, lang: 'en', photoFileId: photoIds[n % USERS],
      title: `Товар №${n}: кружка керамическая`, features: ['350 мл', 'Подходит для посудомойки', 'Подарочная коробка'],
      price: String(490 + n), template: ['clean', 'bold', 'promo'][n % 3], maxOpen: 1_000_000, dailyQuota: 1_000_000,
    });
    if (r.result !== 'created') throw new Error(`order ${n} not created: ${r.result}`);
    const ack = await (await fetch(`${api}/sendMessage`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chat_id: user, text: `Order ${r.order.id} queued` }) })).json() as { result: { message_id: number } };
    await orders.setAck(r.order.id, ack.result.message_id);
    orderIds.push(r.order.id);
  }));
}
say(`${ORDERS} orders queued in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

// --- the sellers' picks: once an order's 1/2/3 message is delivered, its seller taps one
// (through order_choose(), as the bot's handler does); some tap twice, some change their
// mind after (refused: 'conflict'). Runs through the chaos, Postgres restart included.
const JOB_KINDS = ['render-card', 'card-set', 'deliver-card'];
let picking = true;
const pickStats = { picks: 0, repeats: 0, conflicts: 0 };
const picker = (async () => {
  while (picking) {
    try {
      const due = await sql`select id::int, user_id::text from public.orders
                            where status = 'awaiting_choice' and choice_message_id is not null and choice is null limit 200`;
      for (const o of due) {
        const n = 1 + (o.id % 3);
        if ((await orders.choose(o.id, Number(o.user_id), n))?.result === 'ok') pickStats.picks++;
        if (o.id % 5 === 0 && (await orders.choose(o.id, Number(o.user_id), n))?.result === 'ok') pickStats.repeats++;
        if (o.id % 7 === 0 && (await orders.choose(o.id, Number(o.user_id), 1 + (n % 3)))?.result === 'conflict') pickStats.conflicts++;
      }
    } catch { /* Postgres restarting: try again */ }
    await sleep(300);
  }
})();

// --- the AI provider and the app processes' HTTP ports (--ai) ---------------------------
const or = AI ? await startAiProvider() : null;
const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
});
// A restarted process listens where its slot did, so the harness's HTTP calls find it.
const ports: number[] = [];
for (let s = 0; s < Number(args.procs); s++) ports.push(AI ? await freePort() : 0);

// --- the app processes ----------------------------------------------------------------
const baseEnv = {
  ...(or ? aiEnv(or) : {}),
  ...(RPC ? { DATABASE_URL: '', SUPABASE_URL: rest!.url, SUPABASE_SERVICE_ROLE_KEY: rest!.serviceRoleKey } : { DATABASE_URL: pg.url }),
  PORT: '0', LOG_LEVEL: args.verbose ? 'info' : 'warn',
  TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: tg.apiRoot, TELEGRAM_THROTTLE: 'false', WEBHOOK_URL: '', RENDER_EXTERNAL_URL: '',
  JOB_CONCURRENCY: '8', LEASE_SECONDS: String(LEASE_S), POLL_INTERVAL_MS: '500', SHUTDOWN_GRACE_MS: '3000',
  MALLOC_ARENA_MAX: '2', DB_POOL_SIZE: '4',
};
const procs: { proc: Proc; id: string }[] = [];
const appLog: string[] = []; // warnings and errors of every app process, for the failure report
let generation = 0;
let finished = false;
const unplannedExits: string[] = [];
const spawnApp = (slot: number) => {
  const id = `p${slot}-g${++generation}`;
  const proc = spawnCli(['start', '--no-bot'], { ...baseEnv, INSTANCE_ID: id, PORT: String(ports[slot]) });
  // An instance that exits by itself (e.g. its start-up call lost) is restarted, as Render does.
  void proc.exited.then(({ code }) => {
    if (finished || procs[slot]?.proc !== proc || kills.some((k) => k.id === id)) return;
    unplannedExits.push(`${id}:${code}`);
    say(`${id} exited by itself (code ${code}); restarting it`);
    setTimeout(() => { if (!finished && procs[slot]?.proc === proc) spawnApp(slot); }, 1000);
  });
  proc.child.stdout!.on('data', (d: Buffer) => {
    if (args.verbose) process.stderr.write(`[${id}] ${d}`);
    for (const line of String(d).split('\n')) if (line) appLog.push(`[${id}] ${line}`);
  });
  procs[slot] = { proc, id };
  return id;
};
for (let s = 0; s < PROCS; s++) spawnApp(s);

// --- the API cards (--ai): created through the processes while the chaos below goes on ---
const aiWork = AI ? new AiWorkload({ sql, ports: () => ports, photo, count: CARDS, spreadMs: CHAOS_S * 600, say }) : null;
if (aiWork) {
  await aiWork.start();
  say(`${CARDS} API cards to create over ${Math.round(CHAOS_S * 0.6)} s; AI provider at ${or!.baseUrl}`);
}

// --- chaos ------------------------------------------------------------------------------
const kills: { id: string; signal: string; at: number; takeoverMs?: number; held: number }[] = [];
const pending: Promise<void>[] = [];
let pgRestarts = 0;
const chaosStart = Date.now();
const chaosEnd = chaosStart + CHAOS_S * 1000;
let burstDone = false, restartDone = false, restRestartDone = !RPC;
let restRestarts = 0;
const events: { what: string; at: number }[] = [];
while (Date.now() < chaosEnd) {
  await sleep(2000 + Math.random() * 3000);
  const elapsed = (Date.now() - chaosStart) / 1000;
  if (!burstDone && elapsed > CHAOS_S * 0.25) {
    burstDone = true;
    // The next sends fail with 429 whenever they come (a time window could miss them on a busy box).
    const n = args.short ? 10 : 40;
    for (const method of ['sendMediaGroup', 'sendDocument']) tg.failNext(method, { code: 429, retryAfter: 1 }, n);
    say(`Telegram: the next ${n} sendMediaGroup and ${n} sendDocument calls answer 429`);
  }
  if (!restartDone && elapsed > CHAOS_S * 0.5) {
    restartDone = true;
    say('Postgres: restart');
    events.push({ what: 'pg-stop', at: Date.now() });
    await pg.stop();
    await sleep(1500);
    pg = await startEmbedded({ dir: join(dir, 'pg'), port: pgPort, log: silent });
    pgRestarts++;
    events.push({ what: 'pg-back', at: Date.now() });
    say('Postgres: back');
    continue;
  }
  if (!restRestartDone && elapsed > CHAOS_S * 0.75) {
    restRestartDone = true;
    say('PostgREST: restart');
    events.push({ what: 'rest-stop', at: Date.now() });
    countLost(rest!);
    await rest!.close();
    await sleep(1500);
    rest = await startRest(restPort);
    restRestarts++;
    events.push({ what: 'rest-back', at: Date.now() });
    say('PostgREST: back');
    continue;
  }
  let slot = Math.floor(Math.random() * PROCS);
  if (AI) {
    // On a loaded box a process takes many seconds to start: kill one that holds work (an AI
    // call in flight), or wait for one, rather than one still starting up.
    const busy = await withRetry(async () => (await sql`select lease_owner as id from public.jobs
      where status = 'running' and kind in ('api-card', 'api-card-set') group by 1`).map((r) => r.id as string), 'busy');
    const slots = procs.map((p, i) => (busy.includes(p.id) ? i : -1)).filter((i) => i >= 0);
    if (slots.length === 0) continue;
    slot = slots[Math.floor(Math.random() * slots.length)]!;
  }
  const victim = procs[slot];
  const signal = Math.random() < 0.5 ? 'SIGKILL' : 'SIGTERM';
  const held = await withRetry(async () => (await sql`select count(*)::int as n from public.jobs where status = 'running' and lease_owner = ${victim.id}`)[0].n as number, 'held');
  const kill = { id: victim.id, signal, at: Date.now(), held };
  kills.push(kill);
  victim.proc.child.kill(signal as NodeJS.Signals);
  events.push({ what: `${signal}:${victim.id}`, at: Date.now() });
  say(`${signal} ${victim.id} (holding ${held} jobs)`);
  if (signal === 'SIGTERM') {
    const t = setTimeout(() => victim.proc.child.kill('SIGKILL'), 15_000);
    await victim.proc.exited;
    clearTimeout(t);
  }
  spawnApp(slot);
  // Takeover time: until no running job is leased to the victim any more.
  pending.push((async () => {
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      const n = await withRetry(async () => (await sql`select count(*)::int as n from public.jobs where status = 'running' and lease_owner = ${kill.id}`)[0].n as number, 'takeover');
      if (n === 0) { (kill as { takeoverMs?: number }).takeoverMs = Date.now() - kill.at; return; }
      await sleep(200);
    }
  })());
}
say('chaos over; draining');

// --- drain and count --------------------------------------------------------------------
const drainStart = Date.now();
let open = -1;
while (Date.now() - drainStart < DRAIN_TIMEOUT_S * 1000) {
  const [r] = await withRetry(() => sql`select (select count(*) from public.jobs where status in ('queued', 'running') and kind = any(${JOB_KINDS}))::int
                                         + (select count(*) from public.orders where status in ('queued', 'rendering', 'awaiting_choice', 'rendered'))::int as open`, 'drain');
  open = r.open;
  if (aiWork) open += await withRetry(async () => {
    const [a] = await sql`select count(*)::int as n from public.jobs where kind in ('api-card', 'api-card-set') and status in ('queued', 'running')`;
    return a.n + await aiWork.open();
  }, 'drain ai');
  if (open === 0) break;
  await sleep(500);
}
await Promise.all(pending);
picking = false;
await picker;
const drainedS = (Date.now() - drainStart) / 1000;
await aiWork?.stop();
const ai = aiWork ? await measureAi(sql, or!, aiWork, ports[0] ?? null) : null;

const [jobs] = await sql`
  select count(*)::int as enqueued,
         count(*) filter (where status = 'succeeded')::int as succeeded,
         count(*) filter (where status = 'dead')::int as dead,
         count(*) filter (where status = 'canceled')::int as canceled,
         count(*) filter (where status in ('queued', 'running'))::int as lost,
         count(*) filter (where status = 'running' and (lease_expires_at < now() or lease_owner is null))::int as stuck,
         count(*) filter (where kind = 'render-card')::int as renders,
         count(*) filter (where kind = 'deliver-card')::int as deliveries
  from public.jobs where kind = any(${JOB_KINDS})`;
const [ord] = await sql`select count(*) filter (where status = 'sent')::int as sent, count(*) filter (where status not in ('sent'))::int as not_sent,
                               count(*) filter (where status in ('queued','rendering','awaiting_choice','rendered'))::int as open from public.orders`;
const [renders] = await sql`select count(distinct order_id)::int as cards from public.order_images where role = 'main'`;
const [chosen] = await sql`select count(*) filter (where choice is not null)::int as chosen,
                                  (select count(*)::int from public.jobs where kind = 'card-set') as set_jobs from public.orders`;

// Effects seen by Telegram: successful sends per order and part.
const sends = new Map<string, number>();
const sendTimes = new Map<string, number[]>();
/** The file name of an upload: grammY sends multipart with `"attach://<name>"` and the file under <name>. */
const fileName = (c: (typeof tg.calls)[number], ref: unknown) => {
  if (typeof ref === 'string' && ref.startsWith('attach://')) ref = c.params[ref.slice('attach://'.length)];
  return (ref as { file?: { filename?: string } } | undefined)?.file?.filename ?? '';
};
/** Which order and delivery part a successful send was: variants / choice / slides / zip. */
function partOf(c: (typeof tg.calls)[number]): string | null {
  if (c.method === 'sendMediaGroup') {
    const media = (typeof c.params.media === 'string' ? JSON.parse(c.params.media) : c.params.media) as Array<{ media: unknown }>;
    const name = fileName(c, media?.[0]?.media);
    const v = /^variant-(\d+)-1\.jpg$/.exec(name);
    if (v) return `${v[1]}:variants`;
    const s = /^card-(\d+)-1-main\.jpg$/.exec(name);
    return s ? `${s[1]}:slides` : null;
  }
  if (c.method === 'sendDocument') {
    const z = /^card-(\d+)-(wb|ozon)\.zip$/.exec(fileName(c, c.params.document));
    return z ? `${z[1]}:zip` : null;
  }
  if (c.method === 'sendMessage') {
    const p = /pick:(\d+):1/.exec(typeof c.params.reply_markup === 'string' ? c.params.reply_markup : JSON.stringify(c.params.reply_markup ?? ''));
    return p ? `${p[1]}:choice` : null;
  }
  return null;
}
for (const c of tg.calls) {
  if (!c.ok) continue;
  const key = partOf(c);
  if (!key) continue;
  sends.set(key, (sends.get(key) ?? 0) + 1);
  sendTimes.set(key, [...(sendTimes.get(key) ?? []), c.time]);
}
const uncommitted = new Map<string, number>();
for (const r of await sql`select order_id::text, part, count(*)::int as n from public.order_deliveries
                          where committed_at is null group by order_id, part`) uncommitted.set(`${r.order_id}:${r.part}`, r.n);
let duplicates = 0, explained = 0;
for (const [key, n] of sends) {
  if (n <= 1) continue;
  duplicates += n - 1;
  const why = Math.min(n - 1, uncommitted.get(key) ?? 0);
  explained += why;
  if (why < n - 1) {
    // A failed run must say why: the delivery log, the job and the timeline around it.
    const [orderId, part] = key.split(':');
    const rel = (t: number | Date | null) => (t === null ? null : `${((+new Date(t) - chaosStart) / 1000).toFixed(2)}s`);
    const rows = await sql`select attempt, worker, started_at, answered_at, committed_at from public.order_deliveries
                           where order_id = ${orderId} and part = ${part} order by id`;
    const [job] = await sql`select j.id, j.attempts, j.status, j.last_error from public.jobs j join public.orders o on o.deliver_job_id = j.id
                            where o.id = ${orderId}`;
    say(`unexplained duplicate ${key}: sends at ${sendTimes.get(key)!.map(rel).join(', ')}; job ${JSON.stringify(job)}`);
    for (const r of rows) say(`  attempt ${r.attempt} ${r.worker}: begin ${rel(r.started_at)} answered ${rel(r.answered_at)} committed ${rel(r.committed_at)}`);
    say(`  events: ${events.map((e) => `${e.what}@${rel(e.at)}`).join(' ')}`);
    const jobId = String(job?.id ?? '-');
    for (const l of appLog) if (l.includes(`"orderId":${orderId}`) || l.includes(`"${jobId}"`) || l.includes('lease')) say(`  ${l.slice(0, 400)}`);
  }
}
if (rest) countLost(rest);
// What the lost answers cost: jobs that needed more than one attempt, and the pools'
// own account of outcomes they could not record (a complete whose answer was lost).
const [attempts] = await sql`select count(*) filter (where attempts > 1)::int as retried,
                                    count(*) filter (where attempts > 1 and status = 'succeeded')::int as retried_ok
                             from public.jobs where kind = any(${JOB_KINDS})`;
const appWarnings = (re: RegExp) => appLog.filter((l) => re.test(l)).length;
// A lost claim answer: the job waits out its lease, then runs (its lost attempt never ran:
// no delivery row carries that attempt). A lost complete answer: nobody claims the job again.
const jobRows = new Map((await sql`select j.id::text, j.status::text, j.attempts, j.started_at, o.id::text as delivers
    from public.jobs j left join public.orders o on o.deliver_job_id = j.id
    where j.id = any(${[...lostClaims, ...lostCompletes].map((l) => l.id)}::bigint[])`).map((r) => [r.id as string, r]));
const ranInLostAttempt = lostClaims.length === 0 ? 0 : (await sql`select count(*)::int as n from public.order_deliveries d
    join public.orders o on o.id = d.order_id
    join unnest(${lostClaims.map((l) => l.id)}::bigint[], ${lostClaims.map((l) => l.attempts)}::int[]) as l(id, attempt)
      on l.id = o.deliver_job_id and l.attempt = d.attempt`)[0].n as number;
const claimWaits = lostClaims.map((l) => +jobRows.get(l.id)!.started_at - l.at).sort((a, b) => a - b);
const lostAnswers = {
  claim: { jobs: lostClaims.length, deliveryJobs: lostClaims.filter((l) => jobRows.get(l.id)!.delivers).length,
    succeeded: lostClaims.filter((l) => jobRows.get(l.id)!.status === 'succeeded').length,
    ranInLostAttempt, nextStartAfterMs: { min: claimWaits[0] ?? null, p50: claimWaits[Math.floor(claimWaits.length / 2)] ?? null, max: claimWaits.at(-1) ?? null } },
  complete: { jobs: lostCompletes.length, succeeded: lostCompletes.filter((l) => jobRows.get(l.id)!.status === 'succeeded').length,
    startedAgain: lostCompletes.filter((l) => +jobRows.get(l.id)!.started_at > l.at).length },
};
const PARTS = ['variants', 'choice', 'slides', 'zip'];
const missingDeliveries = orderIds.filter((id) => PARTS.some((p) => !sends.has(`${id}:${p}`))).length;

const takeovers = kills.filter((k) => k.held > 0 && k.takeoverMs !== undefined).map((k) => k.takeoverMs!);
takeovers.sort((a, b) => a - b);
const result = {
  orders: ORDERS, processes: PROCS, chaosSeconds: CHAOS_S, leaseSeconds: LEASE_S,
  enqueued: jobs.enqueued, succeeded: jobs.succeeded, dead: jobs.dead, canceled: jobs.canceled,
  lost: jobs.lost, stuck: jobs.stuck,
  duplicates, duplicatesExplained: explained, duplicatesUnexplained: duplicates - explained,
  cardsRendered: renders.cards, picks: pickStats, ordersChosen: chosen.chosen, setJobs: chosen.set_jobs, ordersSent: ord.sent, ordersNotSent: ord.not_sent, missingDeliveries,
  kills: { sigkill: kills.filter((k) => k.signal === 'SIGKILL').length, sigterm: kills.filter((k) => k.signal === 'SIGTERM').length },
  takeoverMs: { count: takeovers.length, p50: takeovers[Math.floor(takeovers.length / 2)] ?? null, max: takeovers.at(-1) ?? null, all: takeovers },
  mode: RPC ? 'rpc' : 'direct',
  ...(ai ? { ai } : {}),
  ...(RPC ? { postgrestRestarts: restRestarts, lostResponses, lostResponsesTotal: Object.values(lostResponses).reduce((a, b) => a + b, 0),
    lostAnswers, outcomesNotRecorded: appWarnings(/outcome not recorded/), claimFailures: appWarnings(/claim failed/) } : {}),
  jobsRetried: attempts.retried, unplannedExits,
  postgresRestarts: pgRestarts, telegram429s: tg.calls.filter((c) => c.status === 429).length, drainSeconds: Math.round(drainedS * 10) / 10,
  ok: jobs.lost === 0 && jobs.stuck === 0 && duplicates === explained && open === 0 && missingDeliveries === 0
    && chosen.set_jobs === chosen.chosen && lostAnswers.claim.ranInLostAttempt === 0 && lostAnswers.complete.startedAgain === 0
    && (!ai || (ai.cardsLost === 0 && ai.cardsStuck === 0 && ai.cards === CARDS && ai.paidCallsPerAiVariant !== null && ai.paidCallsPerAiVariant <= 1.02)),
};
console.log(JSON.stringify(result));
finished = true;

for (const { proc } of procs) proc.child.kill('SIGTERM');
await Promise.race([Promise.all(procs.map((p) => p.proc.exited)), sleep(15_000)]);
for (const { proc } of procs) if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
await sql.end({ timeout: 2 });
await tg.close();
await or?.close();
await rest?.close();
await pg.stop();
rmSync(dir, { recursive: true, force: true });
process.exit(result.ok ? 0 : 1);
