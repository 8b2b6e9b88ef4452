// api-card: the first half of a card created over HTTP (src/api): the cut-out behind its
// confidence gate, then the 3 variants of the main picture. Each stage's output is
// recorded in Postgres (api_card_cutout_done, api_card_variants_done) before the next
// reads it, so a retried or taken-over job skips what is recorded. When the seller picked
// a variant in advance, recording the variants enqueues the set (api-card-set) in the
// same transaction; otherwise the card waits for POST /api/cards/:id/choice.
import { z } from 'zod';
import type { ApiDb } from '../db.ts';
import {
  BadPhotoError, cutoutInThread, isMarketplaceId, isTemplateId, variantsStage, type BackdropSource,
} from '../../cards/index.ts';
import { defineJob } from '../../worker/registry.ts';
import { PermanentError } from '../../worker/retry.ts';

// Empty: the job's id is the card's id. Jobs queued before 20261205120000 carry a
// {key} that was never read; zod drops it.
export const apiCardPayload = z.object({});

/**
 * The stage without AI: cut-out, decode and compose of 3 variants. Not 2 min: at
 * JOB_CONCURRENCY=200 a card can wait minutes for the CPU limit (src/cards/limit.ts) behind
 * the others' cut-outs and compositing, and a timeout then spends an attempt of a card that
 * was only queued (bench inflight under load: 4 attempts).
 */
const LOCAL_WORK_MS = 600_000;

/** How long a job waiting for its cut-out keeps the photo it read before reading it again later. */
const PHOTO_HOLD_MS = 1_000;

/**
 * `backdropsFor(orderKey)`: a backdrop source for one card (the AI's: its paid calls are
 * keyed by the order). `backdropMaxMs`: the longest one AI backdrop may take
 * (backdropWorstMs of AI_BACKDROP_TIMEOUT_MS); the variants ask for theirs at once, so the
 * job's time limit is the local work plus one of those: a slow provider ends in a local
 * backdrop for that variant, never in a job timed out and retried (and paid again).
 */
export function apiCardJob(d: { db: ApiDb; backdrops?: BackdropSource; backdropsFor?: (orderKey: string) => BackdropSource; backdropMaxMs?: number }) {
  return defineJob({
    kind: 'api-card',
    payload: apiCardPayload,
    policy: 'standard',
    timeoutMs: LOCAL_WORK_MS + (d.backdropMaxMs ?? 0),
    async handle(_payload, { job, signal }) {
      const id = job.id;
      let input = await d.db.input(id);
      if (!input) throw new PermanentError(`card ${id} not found`);
      if (input.variants_done) return { reused: true };
      if (!isTemplateId(input.template)) throw new PermanentError(`unknown template ${input.template}`);
      if (!isMarketplaceId(input.marketplace)) throw new PermanentError(`unknown marketplace ${input.marketplace}`);
      const { template, marketplace } = input;

      let cut = input.cutout;
      let framed = input.framed_reason;
      if (!input.cut) {
        if (!input.photo) throw new PermanentError(`card ${id} has no photo`);
        const t0 = performance.now();
        let stage;
        try {
          // With JOB_CONCURRENCY in the hundreds, jobs queued for the CPU limit must not each
          // hold a phone photo: one whose cut-out does not start within a second lets go of the
          // photo and reads it again when its turn comes (a free slot: no second read).
          let held: Buffer | null = input.photo;
          input = { ...input, photo: null };
          const letGo = setTimeout(() => { held = null; }, PHOTO_HOLD_MS);
          try {
            stage = await cutoutInThread(async () => {
              if (held) return held;
              const again = await d.db.input(id);
              if (!again?.photo) throw new PermanentError(`card ${id} has no photo`);
              return again.photo;
            }, { signal });
          } finally {
            clearTimeout(letGo);
            held = null;
          }
        } catch (err) {
          if (err instanceof BadPhotoError) throw new PermanentError(`bad photo (${err.code}): ${err.message}`);
          throw err;
        }
        const r = await d.db.cutoutDone(id, stage.png, stage.framedReason, performance.now() - t0);
        if (!r) throw new PermanentError(`card ${id} was deleted during its cut-out`);
        if (r.recorded) {
          cut = stage.png;
          framed = stage.framedReason;
        } else {
          // Another attempt recorded its cut-out first: build on that one.
          input = await d.db.input(id);
          if (!input) throw new PermanentError(`card ${id} was deleted during its cut-out`);
          if (input.variants_done) return { reused: true };
          cut = input.cutout;
          framed = input.framed_reason;
        }
      }
      if (!cut) throw new PermanentError(`card ${id} has no recorded cut-out`);

      const t1 = performance.now();
      const backdrops = d.backdropsFor?.(`api:${id}`) ?? d.backdrops;
      const variants = await variantsStage(cut, { template, marketplace, title: input.title, backdrops, signal });
      const r = await d.db.variantsDone(id, variants, performance.now() - t1);
      if (!r) throw new PermanentError(`card ${id} was deleted while making its variants`);
      return { framed, variants: variants.length, recorded: r.recorded, setJob: r.set_job };
    },
  });
}
