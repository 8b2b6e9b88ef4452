// The AI backdrop: an image model paints an empty scene for one variant of an order's
// main picture; the caller composites the real cut-out on it and typesets every word.
// Pluggable as a backdrop source: `(req) => Promise<Buffer | null>`, null meaning "use
// a local backdrop". It never throws: no image, a refusal, 429, 5xx, timeouts, an abort,
// a database error each end in null.
//
// Paid calls are exactly-once work (ai_calls, supabase/schemas/ai): the call's key is
// `<order key>:v<variant>:backdrop`. Before calling, the attempt claims that row (holder +
// lease): a recorded answer is returned without a call, and an attempt racing a live
// holder waits for its answer instead of paying again. The provider's answer is recorded
// as received (its base64 and cost) in the tick it arrives, before any decoding or check;
// only a worker killed between the answer and that commit (the window measured in
// ai_record_window_seconds) leaves a claim another attempt takes over when its lease ends,
// and pays again. Decoding, checking and fitting come after, from the recorded bytes, a few
// at a time (FIT_SLOTS): an answer waiting for a slot is dropped and read back from the
// ledger when its turn comes, so hundreds of answers in flight never sit in memory at once.
// A recorded picture that does not decode ends in a local backdrop for that variant, every
// time, and is never paid for again. A call that failed without being paid for (the
// limiter had nothing left, 429, 5xx, connection refused) gives its claim back; one that
// may have been paid (timed out or aborted after the request left, an answer without a
// usable image) is recorded as failed, so no later attempt pays for that variant again.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import sharp from 'sharp';
import type { BackdropSource } from '../cards/index.ts';
import type { AiStore } from '../db/ai.ts';
import type { Logger } from '../log.ts';
import { recordAiBackdrop, recordAiCall, recordAiCost, recordAiRateLimitWait } from '../metrics.ts';
import { aspectRatio, backdropPrompt } from './backdrop-prompt.ts';
import { imageCompletion, type ImageAnswer } from './image.ts';
import type { KeyPool } from './keys.ts';
import { AiCallError } from './openrouter.ts';

export interface BackdropRequest {
  /** Who pays: 'api:<job id>' for API cards (ai_cost_stats attributes them to the key), 'order:<order id>' for the bot's. */
  orderKey: string;
  variant: number;
  template: string;
  marketplace: string;
  /** The seller's title: a hint for the setting, never drawn. */
  productHint: string;
  width: number;
  height: number;
  signal?: AbortSignal;
}

/** A JPEG of exactly width × height, or null: use a local backdrop. */
export type AiBackdropSource = (req: BackdropRequest) => Promise<Buffer | null>;

export interface AiBackdropOptions {
  store: Pick<AiStore, 'claim' | 'done' | 'release'>;
  pool: KeyPool;
  baseUrl: string;
  model: string;
  appName?: string;
  /** The kind's time limit for one provider call. */
  timeoutMs: number;
  /** This instance (each request adds its own suffix). */
  holder: string;
  /** How long a claim holds before another attempt may take it over (default: timeout + 15 s). */
  leaseSeconds?: number;
  log?: Logger;
  /** Test hook: after an answer is recorded, with the answer-to-commit window. */
  onRecorded?: (r: { callKey: string; outcome: string; windowMs: number; costUsd: number }) => void;
  /** Test hook: right before a picture is decoded (its base64 turned into bytes for sharp). */
  onDecode?: (callKey: string) => void;
}

/**
 * Pictures decoded and fitted at once in this process. Each holds its base64 (~3.5 MB for
 * a 2.6 MB PNG), the bytes, and sharp's decoded pixels (~12 MB for 832×1248 RGBA) while it
 * runs; the rest wait without their bytes.
 */
export const FIT_SLOTS = 2;
const fitSlots = pLimit(FIT_SLOTS);
/**
 * Answers read and recorded at once in this process. Each holds its body (~3.5 MB), the
 * base64 string and the query buffer until its commit; answers landing together beyond
 * this wait with their bodies still in the socket. The wait counts in the record window.
 */
export const RECORD_SLOTS = 8;
const recordSlots = pLimit(RECORD_SLOTS);
/** Takes one record slot; resolves to its release (safe to call more than once). */
function recordSlot(): Promise<() => void> {
  return new Promise((take) => {
    void recordSlots(() => new Promise<void>((done) => {
      let released = false;
      take(() => { if (!released) { released = true; done(); } });
    }));
  });
}
/** A picture larger than this many pixels is not decoded (a backdrop is ~1 Mpx). */
const MAX_INPUT_PIXELS = 40_000_000;

export const backdropCallKey = (orderKey: string, variant: number) => `${orderKey}:v${variant}:backdrop`;

/** The default claim lease for a call limit: the call plus a margin for recording it. */
const defaultLeaseSeconds = (timeoutMs: number) => Math.ceil(timeoutMs / 1000) + 15;

/**
 * The longest one backdrop can take with this call limit: waiting out another holder's
 * claim (its lease + 5 s), then two provider calls (a 429 on one key, once more on another).
 * A job kind that asks for backdrops must allow at least this (plus its own work).
 */
export function backdropWorstMs(timeoutMs: number, leaseSeconds = defaultLeaseSeconds(timeoutMs)): number {
  return leaseSeconds * 1000 + 5_000 + 2 * timeoutMs;
}

/**
 * The AI source as the generation stage's BackdropSource (src/cards/generation.ts) for one
 * order: the order key is what makes its paid calls exactly-once, so a job builds one per
 * order, e.g. `variantsStage(cut, { …, backdrops: forOrder(ai.backdrop, \`api:${job.id}\`) })`.
 */
export function forOrder(source: AiBackdropSource, orderKey: string, size = { width: 900, height: 1200 }): BackdropSource {
  return (ctx) => source({
    orderKey, variant: ctx.variant, template: ctx.template, marketplace: ctx.marketplace,
    productHint: ctx.title, width: size.width, height: size.height, signal: ctx.signal,
  });
}

type Decision = { kind: 'call' } | { kind: 'use'; b64: string } | { kind: 'none'; outcome: string };

export function aiBackdrop(o: AiBackdropOptions): AiBackdropSource {
  const leaseSeconds = o.leaseSeconds ?? defaultLeaseSeconds(o.timeoutMs);

  /**
   * The recorded picture as a width × height JPEG, or null when it does not decode. Runs in
   * one of FIT_SLOTS; `b64` null (or a wait for a slot) means: read it back from the ledger.
   */
  async function fit(callKey: string, holder: string, req: BackdropRequest, b64: string | null): Promise<Buffer | null> {
    // Holding the base64 only pays when a slot is free now; otherwise drop it while waiting.
    let kept = fitSlots.activeCount < FIT_SLOTS ? b64 : null;
    b64 = null;
    return fitSlots(async () => {
      if (req.signal?.aborted) return null;
      if (kept == null) {
        const c = await o.store.claim(callKey, req.orderKey, holder, leaseSeconds); // a recorded call: read only
        kept = c.state === 'done' && c.image_b64 ? c.image_b64 : null;
        if (kept == null) return null;
      }
      o.onDecode?.(callKey);
      const bytes = Buffer.from(kept, 'base64');
      kept = null;
      if (bytes.length === 0) return null;
      try {
        return await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).rotate()
          .resize(req.width, req.height, { fit: 'cover', position: 'centre' })
          .removeAlpha().jpeg({ quality: 92 }).toBuffer();
      } catch { return null; }
    });
  }

  /** Claims the call, reuses what is recorded, or waits out another live holder. */
  async function decide(callKey: string, holder: string, req: BackdropRequest): Promise<Decision> {
    const deadline = Date.now() + leaseSeconds * 1000 + 5_000;
    let pauseMs = 100;
    for (;;) {
      if (req.signal?.aborted) return { kind: 'none', outcome: 'aborted' };
      const c = await o.store.claim(callKey, req.orderKey, holder, leaseSeconds);
      if (c.state === 'claimed') return { kind: 'call' };
      if (c.state === 'done') return c.image_b64 ? { kind: 'use', b64: c.image_b64 } : { kind: 'none', outcome: 'empty' };
      if (c.state === 'failed') return { kind: 'none', outcome: 'recorded_failure' };
      // busy: another attempt is calling. Its answer, or its lease running out, ends the wait
      // (polled: the holder may be another instance; the lease bounds it).
      if (Date.now() >= deadline) return { kind: 'none', outcome: 'busy' };
      const wait = Math.min(pauseMs, Math.max(10, Number(c.retry_in_ms) || 0), deadline - Date.now());
      try { await sleep(wait, undefined, { signal: req.signal }); } catch { return { kind: 'none', outcome: 'aborted' }; }
      pauseMs = Math.min(pauseMs * 2, 1_000);
    }
  }

  return async function backdrop(req) {
    const callKey = backdropCallKey(req.orderKey, req.variant);
    const holder = `${o.holder}:${randomUUID().slice(0, 8)}`;
    const log = o.log?.child({ ai: 'backdrop', order: req.orderKey, variant: req.variant });
    const local = (outcome: string) => {
      recordAiBackdrop(outcome);
      log?.info({ outcome }, 'ai backdrop not used: local backdrop');
      return null;
    };
    let claimed = false;
    try {
      const first = await decide(callKey, holder, req);
      if (first.kind === 'use') {
        const image = await fit(callKey, holder, req, first.b64);
        if (!image) return local(req.signal?.aborted ? 'aborted' : 'bad_image');
        recordAiBackdrop('recorded');
        return image;
      }
      if (first.kind === 'none') return local(first.outcome);
      claimed = true;

      const prompt = backdropPrompt(req);
      // A 429 rests that key and tries once more on another key of the pool, if there is one.
      for (let attempt = 0; attempt < Math.min(2, o.pool.size); attempt++) {
        if (attempt > 0) {
          const again = await o.store.claim(callKey, req.orderKey, holder, leaseSeconds); // renews the lease
          if (again.state !== 'claimed') { claimed = false; return local('lost_claim'); }
        }
        const grant = await o.pool.take();
        if (!grant.ok) {
          recordAiRateLimitWait(grant.reason === 'exhausted' ? 'pool' : 'unavailable', 0);
          await o.store.release(callKey, holder);
          claimed = false;
          return local(grant.reason === 'exhausted' ? 'limiter' : 'limiter_unavailable');
        }
        let answer: ImageAnswer & { receivedAt: number };
        let releaseRecord = () => {};
        try {
          answer = await imageCompletion({ baseUrl: o.baseUrl, apiKey: grant.apiKey, model: o.model, appName: o.appName },
            { prompt, aspectRatio: aspectRatio(req.width, req.height) }, o.timeoutMs, req.signal,
            async () => { releaseRecord = await recordSlot(); });
        } catch (err) {
          releaseRecord();
          const e = err instanceof AiCallError ? err : new AiCallError('network', 'request failed');
          recordAiCall(e.kind === 'rate_limited' ? 'rate_limited' : 'error');
          if (e.kind === 'rate_limited') {
            await o.pool.cooldown(grant.keyId, e.retryAfterMs ?? 1_000);
            recordAiRateLimitWait('provider_429', 0);
            log?.info({ key: grant.keyId, retryAfterMs: e.retryAfterMs ?? null }, 'ai key rested after 429');
            continue;
          }
          const maybePaid = e.kind === 'timeout' || e.kind === 'bad_response' || req.signal?.aborted;
          if (!maybePaid) {
            await o.store.release(callKey, holder);
            claimed = false;
            return local(e.kind);
          }
          const outcome = req.signal?.aborted ? 'aborted' : e.kind;
          await o.store.done(callKey, holder, { orderKey: req.orderKey, outcome, image: null, costUsd: 0, keyId: grant.keyId, model: o.model });
          claimed = false;
          return local(outcome);
        }
        // Recorded as received, in this tick: nothing is decoded or checked before the commit.
        const answeredAt = answer.receivedAt;
        const outcome = answer.kind;
        let b64 = answer.kind === 'image' ? answer.b64 : null;
        let rec: { state: string; first: boolean };
        try {
          rec = await o.store.done(callKey, holder,
            { orderKey: req.orderKey, outcome, image: b64, costUsd: answer.costUsd, keyId: grant.keyId, model: o.model });
        } finally { releaseRecord(); }
        const windowMs = performance.now() - answeredAt;
        claimed = false;
        recordAiCall('ok');
        recordAiCost(answer.costUsd);
        o.onRecorded?.({ callKey, outcome, windowMs, costUsd: answer.costUsd });
        log?.info({ outcome, costUsd: answer.costUsd, key: grant.keyId, recordMs: Math.round(windowMs * 10) / 10 }, 'ai backdrop answered');
        if (b64 == null) return local(outcome);
        // Another holder's answer was recorded first: every attempt uses that one (read back).
        if (!rec.first) b64 = null;
        const image = await fit(callKey, holder, req, b64);
        b64 = null;
        if (!image) return local(req.signal?.aborted ? 'aborted' : 'bad_image');
        recordAiBackdrop(rec.first ? 'image' : 'recorded', windowMs / 1000);
        return image;
      }
      await o.store.release(callKey, holder);
      claimed = false;
      return local('rate_limited');
    } catch (err) {
      // A database error: nothing to lean on; the claim (if any) lapses with its lease.
      log?.warn({ err: (err as Error).message, claimed }, 'ai backdrop failed: local backdrop');
      recordAiBackdrop('error');
      return null;
    }
  };
}
