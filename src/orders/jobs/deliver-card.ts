// deliver-card: the card as a photo (preview; Telegram recompresses photos) and as a
// document (the full-resolution 900×1200 JPEG) with "Another variant" / "New card".
//
// Each part is logged before the call (order_delivery_begin, which refuses an attempt
// that no longer holds the job's lease) and committed right after
// Telegram answers (order_delivery_done: message id + file_id). A retry skips parts
// already committed; a part whose answer came but whose commit did not (process died in
// that window) is sent again — order_deliveries keeps both attempts so such possible
// duplicates can be counted. Nothing but the commit runs between answer and commit.
//
// Telegram errors: 429 → RetryAfterError(retry_after) (short ones are waited out by
// autoRetry); 5xx/network → backoff; 403 → order undeliverable, no retry; 400 → dead.
//
// The job is due only once the bot has recorded its "queued" answer (or at a deadline
// when it never does: order_rendered / order_set_ack), so it reads the order once.
import { InputFile } from 'grammy';
import { z } from 'zod';
import { messages } from '../../i18n/index.ts';
import { OPEN_STATUSES, type Order } from '../../db/orders.ts';
import { classifyTelegramError, toJobError } from '../../telegram/api.ts';
import { cardKeyboard } from '../../telegram/callbacks.ts';
import { LeaseLostError } from '../../worker/pool.ts';
import { defineJob } from '../../worker/registry.ts';
import { PermanentError } from '../../worker/retry.ts';
import { editAck, notify, type CardJobDeps } from './card-deps.ts';

export const deliverCardPayload = z.object({ orderId: z.number().int().positive() }).strict();

const isOpen = (o: Order | null) => !!o && OPEN_STATUSES.includes(o.status);

export function deliverCardJob(d: CardJobDeps) {
  return defineJob({
    kind: 'deliver-card',
    payload: deliverCardPayload,
    policy: 'critical',
    timeoutMs: 120_000,
    async handle({ orderId }, { job, signal, log }) {
      let order = await d.orders.get(orderId);
      if (!order) throw new PermanentError(`order ${orderId} not found`);
      if (order.status === 'sent') return { already: true };
      if (!isOpen(order)) return { skipped: order.status };

      const t = messages(order.lang);
      let jpeg: Buffer | null = null;
      const cardBytes = async () => {
        jpeg ??= await d.orders.card(orderId);
        if (!jpeg) throw new PermanentError(`order ${orderId} has no stored card`);
        return jpeg;
      };
      const windows: Record<string, number> = {};
      try {
        if (!order.photo_message_id) {
          const bytes = await cardBytes();
          const now = await d.orders.deliveryBegin(orderId, 'photo', job.attempts, d.workerId, job.id);
          if (now?.fenced) throw new LeaseLostError();
          if (!isOpen(now)) return { skipped: now?.status };
          const msg = await d.api.sendPhoto(order.chat_id, new InputFile(bytes, `card-${orderId}.jpg`),
            { caption: t.cardCaption(orderId, order.title).slice(0, 1024) }, signal as never);
          const answeredAt = new Date();
          order = (await d.orders.deliveryDone(orderId, 'photo', msg.message_id, msg.photo.at(-1)!.file_id, answeredAt)) ?? order;
          windows.photo = Date.now() - answeredAt.getTime();
        }
        if (!order.document_message_id) {
          const bytes = await cardBytes();
          const now = await d.orders.deliveryBegin(orderId, 'document', job.attempts, d.workerId, job.id);
          if (now?.fenced) throw new LeaseLostError();
          if (!isOpen(now)) return { skipped: now?.status };
          const msg = await d.api.sendDocument(order.chat_id, new InputFile(bytes, `card-${orderId}-900x1200.jpg`), {
            caption: t.documentCaption,
            reply_markup: cardKeyboard(orderId, { another: t.another, newCard: t.newCard }),
          }, signal as never);
          const answeredAt = new Date();
          const fileId = msg.document.file_id;
          order = (await d.orders.deliveryDone(orderId, 'document', msg.message_id, fileId, answeredAt)) ?? order;
          windows.document = Date.now() - answeredAt.getTime();
        }
      } catch (err) {
        if (err instanceof PermanentError || err instanceof LeaseLostError) throw err;
        const f = classifyTelegramError(err);
        if (f.kind === 'blocked') {
          await d.orders.fail(orderId, 'undeliverable', f.message);
          log.info({ orderId, err: f.message }, 'order undeliverable: the user blocked the bot');
        } else if (f.kind === 'bad_request' || job.attempts >= job.maxAttempts) {
          await d.orders.fail(orderId, 'failed', f.message);
          await notify(d, order, t.error, log);
          await editAck(d, order, 'failed', 0, log);
        }
        throw toJobError(f);
      }
      log.info({ orderId, commitWindowMs: windows }, 'card delivered');
      await editAck(d, order, 'sent', 0, log);
      return { photoMessageId: order.photo_message_id, documentMessageId: order.document_message_id, commitWindowMs: windows };
    },
  });
}
