// render-card: the first half of a bot order: the cut-out behind its confidence gate, then
// the 3 variants of the main picture. Each stage's output is recorded in Postgres
// (order_cutout_done, order_variants_done) before the next reads it, so a retried or
// taken-over job skips what is recorded. The cut-out is usually made by the bot when the
// photo was accepted (kept with the photo: order_cutout_put); the job cuts out itself only
// when that one is missing, from the kept photo or a download. Recording the variants
// moves the order to awaiting_choice and enqueues their delivery in the same transaction.
// Variants' backdrops come from d.backdropsFor(`order:<id>`): with an AI key its paid
// calls are keyed by the order (ai_calls), so a retry never pays twice.
import { performance } from 'node:perf_hooks';
import { GrammyError } from 'grammy';
import { z } from 'zod';
import { messages } from '../../i18n/index.ts';
import { BadPhotoError, cutoutInThread, isMarketplaceId, isTemplateId, variantsStage, type CutStage } from '../../cards/index.ts';
import { fromBase64 } from '../../db/rpc/index.ts';
import type { Order } from '../../db/orders.ts';
import { classifyTelegramError, downloadFile, FileTooBigError, toJobError } from '../../telegram/api.ts';
import { defineJob } from '../../worker/registry.ts';
import { PermanentError } from '../../worker/retry.ts';
import { editAck, notify, type CardJobDeps } from './card-deps.ts';

export const renderCardPayload = z.object({ orderId: z.number().int().positive() }).strict();

export function renderCardJob(d: CardJobDeps) {
  return defineJob({
    kind: 'render-card',
    payload: renderCardPayload,
    policy: 'standard',
    timeoutMs: 120_000,
    async handle({ orderId }, { job, signal, log }) {
      let order = await d.orders.startRender(orderId);
      if (!order) throw new PermanentError(`order ${orderId} not found`);
      if (order.variants_done) return { reused: true };
      // canceled, or failed by an earlier attempt
      if (order.status !== 'rendering') return { skipped: order.status };
      const template = isTemplateId(order.template) ? order.template : 'clean';
      const marketplace = isMarketplaceId(order.marketplace) ? order.marketplace : 'wb';

      const giveUp = async (why: string, error: string) => {
        await d.orders.fail(orderId, 'failed', error);
        const t = messages(order!.lang);
        await notify(d, order!, t.badPhoto(orderId, t.photoWhy[why] ?? why), log);
        await editAck(d, order!, 'failed', 0, log);
      };
      try {
        let cut = fromBase64(order.cutout_b64);
        let framed = order.framed_reason;
        if (!order.cut) {
          await editAck(d, order, 'rendering', d.ackEditIntervalMs ?? 3_000, log);
          const t0 = performance.now();
          const upload = fromBase64(order.upload_cutout_b64);
          let stage: CutStage;
          if (upload) {
            stage = { png: upload, framedReason: order.upload_framed_reason as CutStage['framedReason'] };
          } else {
            const photo = await photoOf(d, order, signal, giveUp);
            try {
              stage = await cutoutInThread(photo, { signal });
            } catch (err) {
              if (err instanceof BadPhotoError) { await giveUp(err.code, err.message); throw new PermanentError(err.message); }
              throw err;
            }
          }
          const r = await d.orders.cutoutDone(orderId, stage.png, stage.framedReason, performance.now() - t0);
          if (!r) throw new PermanentError(`order ${orderId} was deleted during its cut-out`);
          if (r.recorded) {
            cut = stage.png;
            framed = stage.framedReason;
          } else {
            // Another attempt recorded its cut-out first: build on that one.
            order = await d.orders.startRender(orderId);
            if (!order) throw new PermanentError(`order ${orderId} was deleted during its cut-out`);
            if (order.variants_done) return { reused: true };
            cut = fromBase64(order.cutout_b64);
            framed = order.framed_reason;
          }
          await editAck(d, order, 'cutout', 0, log);
        }
        if (!cut) throw new PermanentError(`order ${orderId} has no recorded cut-out`);

        const t1 = performance.now();
        const backdrops = d.backdropsFor?.(`order:${orderId}`) ?? undefined;
        const variants = await variantsStage(cut, { template, marketplace, title: order.title, backdrops, signal });
        const ms = performance.now() - t1;
        const after = await d.orders.variantsDone(orderId, variants, ms);
        log.info({ orderId, variantsMs: Math.round(ms), framed, sources: variants.map((v) => v.source) }, 'variants made');
        return {
          variantsMs: Math.round(ms), framed, sources: variants.map((v) => v.source),
          deliverJobId: after?.deliver_job_id ?? null, status: after?.status ?? null,
        };
      } catch (err) {
        // The last attempt failing transiently: the order must not hang in "rendering".
        if (!(err instanceof PermanentError) && job.attempts >= job.maxAttempts && !signal.aborted) {
          await giveUp('download', (err as Error).message).catch(() => {});
        }
        throw err;
      }
    },
  });
}

/** The seller's photo: kept by the bot at upload, or downloaded from Telegram when it was not. */
async function photoOf(d: CardJobDeps, order: Order, signal: AbortSignal, giveUp: (why: string, error: string) => Promise<void>) {
  const kept = order.photo_unique_id ? await d.orders.photo(order.photo_unique_id) : null;
  if (kept) return kept;
  try {
    return await downloadFile(d.api, { token: d.token, apiRoot: d.apiRoot, fileId: order.photo_file_id, maxBytes: d.maxPhotoBytes, signal });
  } catch (err) {
    if (err instanceof FileTooBigError) { await giveUp('too_large_bytes', err.message); throw new PermanentError(err.message); }
    if (err instanceof GrammyError && err.error_code === 400) { await giveUp('download', err.description); throw new PermanentError(err.description); }
    if (err instanceof PermanentError) { await giveUp('download', err.message); throw err; }
    throw toJobError(classifyTelegramError(err));
  }
}

export type { Order };
