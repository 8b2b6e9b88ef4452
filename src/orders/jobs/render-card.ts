// render-card: take the seller's photo (kept by the bot when it checked it at upload;
// downloaded from Telegram only when it was not kept), render the card, store the JPEG
// and enqueue deliver-card — the last two in one transaction (order_rendered), so a
// crash or retry never renders twice for delivery nor enqueues two deliveries.
import { performance } from 'node:perf_hooks';
import { GrammyError } from 'grammy';
import { z } from 'zod';
import { messages } from '../../i18n/index.ts';
import { BadPhotoError } from '../../cards/photo.ts';
import { renderCard } from '../../cards/render.ts';
import { isTemplateId } from '../../cards/templates.ts';
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
    timeoutMs: 90_000,
    async handle({ orderId }, { job, signal, log }) {
      const order = await d.orders.startRender(orderId);
      if (!order) throw new PermanentError(`order ${orderId} not found`);
      // canceled, or rendered by an earlier attempt that died before completing the job
      if (order.status !== 'rendering') return { skipped: order.status };
      await editAck(d, order, 'rendering', d.ackEditIntervalMs ?? 3_000, log);
      if (order.has_card) {
        const after = await d.orders.rendered(orderId, null, null);
        return { reused: true, deliverJobId: after?.deliver_job_id ?? null };
      }

      const giveUp = async (why: string, error: string) => {
        await d.orders.fail(orderId, 'failed', error);
        const t = messages(order.lang);
        await notify(d, order, t.badPhoto(orderId, t.photoWhy[why] ?? why), log);
        await editAck(d, order, 'failed', 0, log);
      };
      try {
        let photo = order.photo_unique_id ? await d.orders.photo(order.photo_unique_id) : null;
        if (!photo) {
          try {
            photo = await downloadFile(d.api, { token: d.token, apiRoot: d.apiRoot, fileId: order.photo_file_id, maxBytes: d.maxPhotoBytes, signal });
          } catch (err) {
            if (err instanceof FileTooBigError) { await giveUp('too_large_bytes', err.message); throw new PermanentError(err.message); }
            if (err instanceof GrammyError && err.error_code === 400) { await giveUp('download', err.description); throw new PermanentError(err.description); }
            if (err instanceof PermanentError) { await giveUp('download', err.message); throw err; }
            throw toJobError(classifyTelegramError(err));
          }
        }
        // Optional AI copy: any failure inside gives back the seller's own words.
        const ai = d.copy
          ? await d.copy.improve({ title: order.title, features: order.features, price: order.price, lang: order.lang }, { signal, log })
          : null;
        const words = ai?.copy ?? { title: order.title, features: order.features };
        const t0 = performance.now();
        let card;
        try {
          card = await renderCard({
            photo, title: words.title, features: words.features, price: order.price,
            template: isTemplateId(order.template) ? order.template : 'clean',
          }, { signal });
        } catch (err) {
          if (err instanceof BadPhotoError) { await giveUp(err.code, err.message); throw new PermanentError(err.message); }
          throw err;
        }
        const renderMs = performance.now() - t0;
        const after = await d.orders.rendered(orderId, card, renderMs);
        log.info({ orderId, renderMs: Math.round(renderMs), bytes: card.jpeg.length }, 'card rendered');
        return {
          renderMs: Math.round(renderMs), bytes: card.jpeg.length, deliverJobId: after?.deliver_job_id ?? null,
          ...(ai ? { copy: ai.source, ...(ai.source === 'seller' ? { copyFallback: ai.reason } : { title: words.title, features: words.features }) } : {}),
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

export type { Order };
