// api-card: renders a card created over HTTP (src/api) and stores the JPEG where the
// deployment keeps results (ResultStore). Nothing Telegram here. A retry after the
// result was stored does not render again; the stored input photo is dropped then.
import { z } from 'zod';
import type { ApiDb } from '../db.ts';
import type { ResultStore } from '../storage.ts';
import { BadPhotoError, isTemplateId, renderCard } from '../../cards/index.ts';
import { defineJob } from '../../worker/registry.ts';
import { PermanentError } from '../../worker/retry.ts';

// Empty: the job's id is the card's id. Jobs queued before 20261205120000 carry a
// {key} that was never read; zod drops it.
export const apiCardPayload = z.object({});

export function apiCardJob(d: { db: ApiDb; results: ResultStore }) {
  return defineJob({
    kind: 'api-card',
    payload: apiCardPayload,
    policy: 'standard',
    timeoutMs: 60_000,
    async handle(_payload, { job, signal }) {
      const input = await d.db.input(job.id);
      if (!input) throw new PermanentError(`card ${job.id} not found`);
      if (input.stored) return { reused: true };
      if (!input.photo) throw new PermanentError(`card ${job.id} has no photo`);
      if (!isTemplateId(input.template)) throw new PermanentError(`unknown template ${input.template}`);
      let card;
      try {
        card = await renderCard({
          photo: input.photo, title: input.title, features: input.features,
          price: input.price, template: input.template,
        }, { signal });
      } catch (err) {
        if (err instanceof BadPhotoError) throw new PermanentError(`bad photo (${err.code}): ${err.message}`);
        throw err;
      }
      const renders = await d.results.put(job.id, card);
      if (renders == null) throw new PermanentError(`card ${job.id} was deleted while rendering`);
      return { width: card.width, height: card.height, bytes: card.jpeg.length, renders };
    },
  });
}
