// api-card-set: the second half of an API card, once a variant is chosen: the set (the
// chosen variant as the main picture plus infographic slides), checked against the
// marketplace's rules, recorded (api_card_set_done), then the main picture stored where
// results live (what /result serves). A set that breaks a rule fails the card
// permanently and is never recorded, so nothing of it can be fetched. A retry after the
// set is recorded composes nothing: it only stores the recorded main picture if needed.
import { z } from 'zod';
import type { ApiDb } from '../db.ts';
import type { ResultStore } from '../storage.ts';
import {
  composeSet, isMarketplaceId, isTemplateId, setStage, SetViolationError, type SetComposer,
} from '../../cards/index.ts';
import { defineJob } from '../../worker/registry.ts';
import { PermanentError } from '../../worker/retry.ts';

export const apiCardSetPayload = z.object({ card: z.union([z.number().int().positive(), z.string().regex(/^\d{1,18}$/)]).transform(String) });

const SIZE = { width: 900, height: 1200 };

export function apiCardSetJob(d: { db: ApiDb; results: ResultStore; compose?: SetComposer }) {
  return defineJob({
    kind: 'api-card-set',
    payload: apiCardSetPayload,
    policy: 'standard',
    // Not 2 min: at JOB_CONCURRENCY=200 a card can wait minutes for the CPU limit
    // (src/cards/limit.ts) behind the others' cut-outs and compositing, and a timeout then
    // spends an attempt of a card that was only queued (bench inflight under load: 4 attempts). AI
    // calls keep their own timeout (AI_BACKDROP_TIMEOUT_MS); this bounds a stuck job.
    timeoutMs: 600_000,
    async handle({ card }, { signal }) {
      const input = await d.db.setInput(card);
      if (!input) throw new PermanentError(`card ${card} not found`);
      const store = async (jpeg: Buffer) => {
        const renders = await d.results.put(card, { jpeg, ...SIZE });
        if (renders == null) throw new PermanentError(`card ${card} was deleted while storing its set`);
        return renders;
      };
      if (input.set_done) {
        if (input.stored) return { reused: true };
        if (!input.main) throw new PermanentError(`card ${card}: the recorded set has no main picture`);
        return { reused: true, renders: await store(input.main) };
      }
      if (!input.choice || !input.variant) throw new PermanentError(`card ${card}: no chosen variant recorded`);
      if (!input.cutout) throw new PermanentError(`card ${card}: no cut-out recorded`);
      if (!isTemplateId(input.template)) throw new PermanentError(`unknown template ${input.template}`);
      if (!isMarketplaceId(input.marketplace)) throw new PermanentError(`unknown marketplace ${input.marketplace}`);
      const t0 = performance.now();
      let set;
      try {
        set = await setStage({
          cutPng: input.cutout, mainJpeg: input.variant, title: input.title, features: input.features, price: input.price,
          template: input.template, marketplace: input.marketplace, signal,
        }, d.compose ?? composeSet);
      } catch (err) {
        if (err instanceof SetViolationError) throw new PermanentError(err.message);
        throw err;
      }
      const r = await d.db.setDone(card, set.slides, performance.now() - t0);
      if (!r) throw new PermanentError(`card ${card} was deleted while making its set`);
      const renders = input.stored ? null : await store(set.slides[0].jpeg);
      return { slides: set.slides.length, warnings: set.warnings.map((w) => w.code), recorded: r.recorded, renders };
    },
  });
}
