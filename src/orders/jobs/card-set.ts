// card-set: the second half of a bot order, once the seller picked a variant: the set
// (the chosen variant as the main picture plus infographic slides), checked against the
// marketplace's rules, then recorded with its delivery enqueued in one transaction
// (order_set_done). A set that breaks a rule fails the order and is never recorded, so
// nothing of it can be delivered. A retry after the set is recorded composes nothing.
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { composeSet, isMarketplaceId, isTemplateId, setStage, SetViolationError } from '../../cards/index.ts';
import { messages } from '../../i18n/index.ts';
import { defineJob } from '../../worker/registry.ts';
import { PermanentError } from '../../worker/retry.ts';
import { editAck, notify, type CardJobDeps } from './card-deps.ts';

export const cardSetPayload = z.object({ orderId: z.number().int().positive() }).strict();

export function cardSetJob(d: CardJobDeps) {
  return defineJob({
    kind: 'card-set',
    payload: cardSetPayload,
    policy: 'standard',
    timeoutMs: 120_000,
    async handle({ orderId }, { signal, log }) {
      const input = await d.orders.setInput(orderId);
      if (!input) throw new PermanentError(`order ${orderId} not found`);
      if (input.set_done) return { reused: true };
      if (input.status !== 'rendering') return { skipped: input.status };
      if (!input.choice || !input.variant_b64) throw new PermanentError(`order ${orderId}: no chosen variant recorded`);
      if (!input.cutout_b64) throw new PermanentError(`order ${orderId}: no cut-out recorded`);
      await editAck(d, input, 'set', 0, log);

      // Optional AI copy for the slides' words: any failure inside gives back the seller's own.
      const ai = d.copy
        ? await d.copy.improve({ title: input.title, features: input.features, price: input.price, lang: input.lang }, { signal, log })
        : null;
      const words = ai?.copy ?? { title: input.title, features: input.features };
      const t0 = performance.now();
      let set;
      try {
        set = await setStage({
          cutPng: Buffer.from(input.cutout_b64, 'base64'), mainJpeg: Buffer.from(input.variant_b64, 'base64'),
          title: words.title, features: words.features, price: input.price,
          template: isTemplateId(input.template) ? input.template : 'clean',
          marketplace: isMarketplaceId(input.marketplace) ? input.marketplace : 'wb', signal,
        }, d.compose ?? composeSet);
      } catch (err) {
        if (err instanceof SetViolationError) {
          log.warn({ orderId, err: err.message }, 'set not delivered: it breaks the marketplace rules');
          await d.orders.fail(orderId, 'failed', err.message);
          await notify(d, input, messages(input.lang).setBroken(orderId), log);
          await editAck(d, input, 'failed', 0, log);
          throw new PermanentError(err.message);
        }
        throw err;
      }
      const ms = performance.now() - t0;
      const after = await d.orders.setDone(orderId, set.slides, ms);
      log.info({ orderId, setMs: Math.round(ms), slides: set.slides.length }, 'set made');
      return {
        setMs: Math.round(ms), slides: set.slides.length, warnings: set.warnings.map((w) => w.code),
        deliverJobId: after?.set_deliver_job_id ?? null,
        ...(ai ? { copy: ai.source, ...(ai.source === 'seller' ? { copyFallback: ai.reason } : { title: words.title, features: words.features }) } : {}),
      };
    },
  });
}
