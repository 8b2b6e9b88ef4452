// The chaos run's AI part (`npm run chaos -- --ai`): cards created over the HTTP API of the
// app processes while they are killed and Postgres restarts, every variant asking the fake
// OpenRouter for an AI backdrop. The provider answers after 1-3 s with a mix of images,
// 429 + Retry-After, 5xx, answers without an image and answers too late (timeouts). Two
// thirds of the cards pick their variant at create; the rest stop at awaiting_choice and
// the harness picks over POST /api/cards/:id/choice. Afterwards the provider's own log
// says what was paid: image answers that reached a live client, per variant delivered
// with an AI backdrop (target ≤ 1.02), and the cost it billed is compared with what
// /api/stats, ai_cost_stats() (the admin /stats) and /metrics show.
import { setTimeout as sleep } from 'node:timers/promises';
import type postgres from 'postgres';
import { ApiDb } from '../../src/api/db.ts';
import { createKey } from '../../src/api/keys.ts';
import { postgresRpc } from '../../src/db/rpc/postgres.ts';
import { startFakeOpenRouter, type Behaviour, type FakeOpenRouter, type FakeRequest } from '../support/fake-openrouter.ts';

export const AI_KEYS = ['sk-or-v1-chaos1chaos1chaos1chaos1chaos1chaos1chaos1chao', 'sk-or-v1-chaos2chaos2chaos2chaos2chaos2chaos2chaos2chao',
  'sk-or-v1-chaos3chaos3chaos3chaos3chaos3chaos3chaos3chao'];
/** One image call's limit in the app processes; the fake's "too late" answers come after it. */
export const AI_TIMEOUT_MS = 6_000;

/** The provider's mix: mostly images, and every kind of trouble the backdrop must survive. */
function trouble(r: FakeRequest): Behaviour {
  // The bot's cards ask for selling copy: the trouble is for the image calls.
  if (!isImageCall(r)) return { kind: 'ok' };
  const x = Math.random();
  if (x < 0.08) return { kind: '429', retryAfter: '1' };
  if (x < 0.13) return { kind: '500' };
  if (x < 0.16) return { kind: '503' };
  if (x < 0.21) return { kind: 'no-image' };
  if (x < 0.25) return { kind: 'slow', ms: AI_TIMEOUT_MS + 2_000, then: { kind: 'image' } }; // the client times out first
  return { kind: 'image' };
}

const isImageCall = (r: FakeRequest) => Array.isArray(r.body?.modalities) && r.body.modalities.includes('image');

export async function startAiProvider(): Promise<FakeOpenRouter> {
  const or = await startFakeOpenRouter({ keys: AI_KEYS });
  or.latencySeconds = () => 1 + Math.random() * 2;
  or.fallback = trouble;
  return or;
}

export function aiEnv(or: FakeOpenRouter): Record<string, string> {
  return {
    OPENROUTER_API_KEYS: AI_KEYS.join(','), OPENROUTER_BASE_URL: or.baseUrl, AI_BACKDROP_TIMEOUT_MS: String(AI_TIMEOUT_MS),
    AI_RATE_PER_MINUTE: '100000', AI_RATE_PER_HOUR: '1000000',
  };
}

interface Card { n: number; id?: string; variant: number | null; chosen: boolean }

/**
 * Creates `count` cards spread over `spreadMs` through whichever app process answers, and
 * picks a variant for those created without one once they reach awaiting_choice.
 */
export class AiWorkload {
  readonly cards: Card[] = [];
  key = '';
  keyId = 0;
  createErrors = 0;
  choiceCalls = 0;
  /** Why creating the cards stopped early, if it did. */
  failure: string | null = null;
  private stopped = false;
  private creating: Promise<void> | null = null;
  private choosing: Promise<void> | null = null;

  constructor(private readonly o: { sql: postgres.Sql; ports: () => number[]; photo: Buffer; count: number; spreadMs: number; say: (m: string) => void }) {}

  async start() {
    const api = new ApiDb(postgresRpc(this.o.sql));
    const k = await createKey(api, { name: 'chaos-ai', quota: 1_000_000, rate: 1_000_000 });
    this.key = k.key;
    this.keyId = Number(k.row.id);
    this.creating = this.create().catch((err) => { this.failure = `creating cards: ${(err as Error).message}`; this.o.say(this.failure); });
    this.choosing = this.chooseLoop();
  }

  /** Every card created (each POST retried until some process answers 202). */
  get created() { return this.creating ?? Promise.resolve(); }

  async stop() {
    this.stopped = true;
    await Promise.all([this.creating, this.choosing]);
  }

  /** An HTTP call to a random live app process, retried across kills and the database restart. */
  private async call(path: string, init: RequestInit, ok: (status: number) => boolean, what: string): Promise<Response> {
    const end = Date.now() + 120_000;
    for (;;) {
      const ports = this.o.ports();
      const port = ports[Math.floor(Math.random() * ports.length)];
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers: { authorization: `Bearer ${this.key}`, ...init.headers }, signal: AbortSignal.timeout(15_000) });
        if (ok(res.status)) return res;
        if (res.status < 500 && res.status !== 429) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
        await res.body?.cancel();
      } catch (err) {
        if ((err as Error).message.startsWith(what)) throw err;
      }
      this.createErrors++;
      if (Date.now() > end) throw new Error(`${what}: no app process answered for 2 minutes`);
      await sleep(300);
    }
  }

  private async create() {
    const gap = this.o.spreadMs / Math.max(1, this.o.count);
    for (let n = 0; n < this.o.count && !this.stopped; n++) {
      const card: Card = { n, variant: n % 3 === 2 ? null : (n % 3) + 1, chosen: false };
      this.cards.push(card);
      const body = () => {
        const f = new FormData();
        f.append('photo', new Blob([new Uint8Array(this.o.photo)], { type: 'image/jpeg' }), 'photo.jpg');
        f.append('title', `Кружка №${n}`);
        f.append('features', 'Керамика\n350 мл');
        f.append('template', ['clean', 'bold', 'promo'][n % 3]!);
        f.append('marketplace', n % 2 ? 'ozon' : 'wb');
        if (card.variant) f.append('variant', String(card.variant));
        return f;
      };
      // FormData bodies are consumed by a send: a fresh one per try, same Idempotency-Key.
      const res = await this.callWithBody(`card ${n}`, body);
      card.id = (await res.json() as { id: string }).id;
      await sleep(gap);
    }
  }

  private async callWithBody(what: string, body: () => FormData) {
    const end = Date.now() + 120_000;
    for (;;) {
      try {
        return await this.call('/api/cards', { method: 'POST', body: body(), headers: { 'idempotency-key': `chaos-${what}` } }, (s) => s === 202, what);
      } catch (err) {
        if (Date.now() > end) throw err;
        if ((err as Error).message.startsWith(what)) throw err;
      }
    }
  }

  private async chooseLoop() {
    for (;;) {
      const waiting = this.cards.filter((c) => c.id && c.variant === null && !c.chosen);
      if (this.stopped) return;
      for (const c of waiting) {
        if (this.stopped) return;
        try {
          const res = await this.call(`/api/cards/${c.id}`, { method: 'GET' }, (s) => s === 200, `poll ${c.id}`);
          const card = await res.json() as { status: string };
          if (card.status !== 'awaiting_choice') continue;
          const pick = 1 + (c.n % 3);
          await this.call(`/api/cards/${c.id}/choice`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ variant: pick }) },
            (s) => s === 202, `choose ${c.id}`);
          this.choiceCalls++;
          c.chosen = true;
        } catch (err) {
          this.o.say(`choice for card ${c.id}: ${(err as Error).message}`);
        }
      }
      await sleep(500);
    }
  }

  /** Cards not yet in a final state (queued, running, awaiting_choice), from the database. */
  async open(): Promise<number> {
    const ids = this.cards.filter((c) => c.id).map((c) => c.id!);
    if (ids.length < this.o.count && !this.failure) return this.o.count - ids.length + 1;
    const [r] = await this.o.sql`select count(*)::int as n from unnest(${ids}::bigint[]) as c(id)
      where (public.api_card_get(${this.keyId}, c.id)->>'status') in ('queued', 'running', 'awaiting_choice')`;
    return r.n;
  }
}

/** What the provider's log and the database say about the AI stage once everything drained. */
export async function measureAi(sql: postgres.Sql, or: FakeOpenRouter, w: AiWorkload, metricsPort: number | null) {
  const ids = w.cards.filter((c) => c.id).map((c) => c.id!);
  const [cards] = await sql`select
      count(*) filter (where s = 'succeeded')::int as succeeded, count(*) filter (where s = 'dead')::int as dead,
      count(*) filter (where s = 'canceled')::int as canceled,
      count(*) filter (where s in ('queued', 'running', 'awaiting_choice'))::int as open
    from (select public.api_card_get(${w.keyId}, c.id)->>'status' as s from unnest(${ids}::bigint[]) as c(id)) x`;
  const [stuck] = await sql`select count(*)::int as n from public.jobs where kind in ('api-card', 'api-card-set')
      and status = 'running' and (lease_expires_at < now() or lease_owner is null)`;
  const [v] = await sql`select
      (select count(*)::int from public.api_card_images i where i.job_id = any(${ids}::bigint[]) and i.role = 'variant') as variants,
      (select count(*)::int from public.ai_calls a join public.api_cards c on a.order_key = 'api:' || c.job_id
         where c.job_id = any(${ids}::bigint[]) and c.variants_at is not null and a.state = 'done' and a.outcome = 'image') as ai_variants,
      (select count(*)::int from public.ai_calls a where a.order_key like 'api:%' and a.state = 'claimed') as claims_left,
      -- Every image recorded, the bot's orders' ('order:…') too: the provider's log below counts
      -- their image calls as well (the bot's generation asks for AI backdrops since bot-gen).
      (select count(*)::int from public.ai_calls a where a.state = 'done' and a.outcome = 'image') as images_recorded,
      (select coalesce(jsonb_object_agg(outcome, n), '{}'::jsonb) from (select coalesce(outcome, state) as outcome, count(*)::int as n
         from public.ai_calls where order_key like 'api:%' group by 1) o) as outcomes`;
  // Image calls only: the bot's cards ask the same provider for selling copy.
  const calls = or.requests.filter((r) => r.authorized && isImageCall(r));
  const answered = (kind: string) => calls.filter((r) => r.answer === kind && !r.aborted).length;
  const paidImages = answered('image');
  const billedUsd = calls.filter((r) => r.status === 200 && !r.aborted).reduce((s, r) => s + (r.cost ?? 0), 0);
  const [cost] = await sql`select public.ai_cost_stats(${w.keyId}) as key, public.ai_cost_stats() as all`;
  type AiCost = { totalUsd: number; orders: number; paidCalls: number };
  let apiStats: AiCost | null = null;
  let metricsUsd: number | null = null;
  if (metricsPort) {
    try {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/api/stats`, { headers: { authorization: `Bearer ${w.key}` } });
      apiStats = (await res.json() as { aiCost: AiCost }).aiCost;
      const m = /^ai_cost_usd_total(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
      metricsUsd = m ? Number(m[1]) : null;
    } catch { /* reported as null */ }
  }
  const jobs = await sql`select kind, status::text, count(*)::int as n, max(attempts)::int as max_attempts, max(last_error) as last_error
    from public.jobs where kind in ('api-card', 'api-card-set') group by 1, 2 order by 1, 2`;
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  return {
    jobs: jobs.map((j) => ({ ...j, last_error: j.last_error?.slice(0, 160) ?? null })),
    cards: ids.length, cardsSucceeded: cards.succeeded, cardsDead: cards.dead, cardsCanceled: cards.canceled,
    cardsLost: cards.open, cardsStuck: stuck.n, choicesMade: w.choiceCalls,
    variantsDelivered: v.variants, aiVariantsDelivered: v.ai_variants, aiClaimsLeft: v.claims_left, aiOutcomes: v.outcomes,
    provider: {
      calls: calls.length, imagesAnswered: paidImages, noImageAnswered: answered('no-image'),
      rateLimited: calls.filter((r) => r.status === 429).length, serverErrors: calls.filter((r) => (r.status ?? 0) >= 500).length,
      // the client hung up first: a timeout, or a worker killed or stopped mid-call
      abandoned: calls.filter((r) => r.aborted).length,
      billedUsd: round(billedUsd),
    },
    // Each image recorded in ai_calls is one variant's backdrop; an answer paid but never
    // recorded (a worker killed in the answer-to-commit window) shows as an extra answer.
    imagesRecorded: v.images_recorded,
    paidCallsPerAiVariant: v.images_recorded ? round(paidImages / v.images_recorded) : null,
    cost: {
      providerBilledUsd: round(billedUsd), recordedUsd: round(Number(cost.all.total_usd)), keyUsd: round(Number(cost.key.total_usd)),
      keyOrders: Number(cost.key.orders), keyAvgPerOrderUsd: cost.key.avg_per_order_usd == null ? null : round(Number(cost.key.avg_per_order_usd)),
      apiStatsUsd: apiStats ? round(apiStats.totalUsd) : null, metricsUsdOneInstance: metricsUsd,
    },
  };
}
