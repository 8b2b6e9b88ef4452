// deliver-card: what a stage of an order sends to the seller.
//   stage 'variants': the 3 variants as one album (sendMediaGroup), then a message with the
//                     1/2/3 buttons that pick the main picture;
//   stage 'set':      the set's slides as one album, then ONE zip document holding the
//                     full-resolution JPEGs (Telegram recompresses photos), with "New card".
// Enqueued by order_variants_done / order_set_done in the transaction that records the
// pictures, keyed by the order, so each stage is delivered by one job.
//
// Each part (an album is one part) is logged before the call (order_delivery_begin, which
// refuses an attempt that no longer holds the job's lease) and committed right after
// Telegram answers (order_delivery_done: message id + file_id). A retry skips parts
// already committed. Nothing but the commit runs between answer and commit.
//
// A send can outlive the lease it began under (a slow upload while the heartbeat is late),
// so each send has a deadline: its HTTP call is aborted TELEGRAM_SEND_DEADLINE_MS after
// its begin was asked for, and its begin records a deadline half as long again, for the
// answer's commit. A lease loss does not abort a send under way: the message may be out
// already, and recording it (done is not fenced) lets the new owner skip it. The rule:
//   - an attempt that finds a part committed skips it;
//   - an attempt that finds another attempt's part begun, not committed, before its
//     deadline sends nothing and comes back at the deadline (SendInProgressError: the
//     queue retries it then, spending one attempt of the delivery's 10);
//   - past the deadline the earlier attempt can no longer be sending, so the part is sent.
// So a part is sent twice only when an attempt's row stays uncommitted: its process died
// between Telegram's answer and the commit, or its call was cut off (deadline, shutdown)
// after Telegram had taken the message. order_deliveries keeps both attempts, so every
// such possible duplicate is counted (the chaos run explains a duplicate only by such a row).
//
// Telegram errors: 429 → RetryAfterError(retry_after) (short ones are waited out by
// autoRetry); 5xx/network → backoff; 403 → order undeliverable, no retry; 400 → dead.
//
// The variants' delivery is due only once the bot has recorded its "queued" answer (or
// at a deadline when it never does: order_variants_done / order_set_ack).
import { InputFile, InputMediaBuilder } from 'grammy';
import { z } from 'zod';
import { messages } from '../../i18n/index.ts';
import { OPEN_STATUSES, type DeliveryPart, type Order, type StageImage } from '../../db/orders.ts';
import { classifyTelegramError, toJobError } from '../../telegram/api.ts';
import { cardKeyboard, pickKeyboard } from '../../telegram/callbacks.ts';
import { LeaseLostError } from '../../worker/pool.ts';
import { defineJob } from '../../worker/registry.ts';
import { PermanentError, RetryAfterError } from '../../worker/retry.ts';
import { editAck, notify, type CardJobDeps } from './card-deps.ts';
import { zip } from '../zip.ts';
import { scrub } from '../../log.ts';

// stage absent: a job queued before 20261220120000 (the single card) — decided by the order.
export const deliverCardPayload = z.object({
  orderId: z.number().int().positive(),
  stage: z.enum(['variants', 'set']).optional(),
}).strict();

const isOpen = (o: Order | null) => !!o && OPEN_STATUSES.includes(o.status);
const MARKETPLACE_NAMES: Record<string, string> = { wb: 'Wildberries', ozon: 'Ozon' };

/** The zip's file names: 1-main.jpg, 2-infographic.jpg, … (the marketplace's upload order). */
/** Another attempt may still be sending this part: come back at its deadline. */
export class SendInProgressError extends RetryAfterError {
  constructor(part: string, until: Date) {
    // +1 s: the deadline is the database's clock, the wait is ours
    super(`${part}: an earlier attempt may still be sending it; retry after ${until.toISOString()}`,
      Math.max(0, until.getTime() - Date.now()) + 1_000);
    this.name = 'SendInProgressError';
  }
}

/** A send's signal: aborted at its deadline, or when the job is stopped (timeout, shutdown) —
 *  but not when its lease is lost: a send under way finishes and records what it sent. */
function sendSignal(job: AbortSignal, deadlineMs: number): AbortSignal {
  const c = new AbortController();
  const timer = setTimeout(() => c.abort(new Error(`send deadline (${deadlineMs} ms) passed`)), deadlineMs);
  timer.unref();
  const onJob = () => { if (!(job.reason instanceof LeaseLostError)) c.abort(job.reason); };
  if (job.aborted) onJob(); else job.addEventListener('abort', onJob, { once: true });
  c.signal.addEventListener('abort', () => { clearTimeout(timer); job.removeEventListener('abort', onJob); }, { once: true });
  return c.signal;
}

export const slideFileName = (orderId: number, s: Pick<StageImage, 'n' | 'role'>) => `card-${orderId}-${s.n}-${s.role}.jpg`;

export function deliverCardJob(d: CardJobDeps) {
  return defineJob({
    kind: 'deliver-card',
    payload: deliverCardPayload,
    policy: 'critical',
    timeoutMs: 120_000,
    async handle(payload, { job, signal, log }) {
      const orderId = payload.orderId;
      let order = await d.orders.get(orderId);
      if (!order) throw new PermanentError(`order ${orderId} not found`);
      const stage = payload.stage ?? (order.set_at ? 'set' : 'variants');
      if (order.status === 'sent') return { already: true };
      if (!isOpen(order)) return { skipped: order.status };

      const t = messages(order.lang);
      let images: StageImage[] | null = null;
      const pictures = async () => {
        images ??= await d.orders.images(orderId, stage);
        if (images.length < 2) throw new PermanentError(`order ${orderId} has no recorded ${stage}`);
        return images;
      };
      const windows: Record<string, number> = {};
      const deadlineMs = d.sendDeadlineMs ?? 60_000;
      type Send = (signal: AbortSignal) => Promise<{ messageId: number; fileId: string }>;
      /** One fenced, exactly-once-logged send: skipped when committed, refused when the lease is
       *  lost, deferred while another attempt may still be sending it (see the header). */
      const part = async (name: DeliveryPart, done: boolean, send: Send) => {
        if (done) return true;
        // The deadline runs from before the begin is asked for, so it ends before the recorded one.
        const sig = sendSignal(signal, deadlineMs);
        const now = await d.orders.deliveryBegin(orderId, name, job.attempts, d.workerId, job.id, Math.round(deadlineMs * 1.5));
        if (now?.fenced) throw new LeaseLostError();
        if (now?.wait_until) throw new SendInProgressError(name, new Date(now.wait_until));
        if (now?.done) { order = now; return true; }
        if (!isOpen(now)) return false;
        let sent: Awaited<ReturnType<Send>>;
        try {
          sent = await send(sig);
        } catch (err) {
          // The call is over: a retry need not wait for this send's deadline (best effort: if
          // this fails, the retry waits it out).
          await d.orders.deliveryEnd(orderId, name, job.attempts)
            .catch((e) => log.warn({ err: scrub((e as Error).message) }, 'delivery end not recorded'));
          throw err;
        }
        const answeredAt = new Date();
        order = (await d.orders.deliveryDone(orderId, name, sent.messageId, sent.fileId, answeredAt)) ?? order!;
        windows[name] = Date.now() - answeredAt.getTime();
        return true;
      };
      const album = async (caption: string, name: (s: StageImage) => string, signal: AbortSignal) => {
        const list = await pictures();
        const msgs = await d.api.sendMediaGroup(order!.chat_id, list.map((s, i) =>
          InputMediaBuilder.photo(new InputFile(s.jpeg, name(s)), i === 0 ? { caption: caption.slice(0, 1024) } : {})), {}, signal as never);
        const first = msgs[0];
        return { messageId: first.message_id, fileId: 'photo' in first ? first.photo.at(-1)?.file_id ?? '' : '' };
      };

      try {
        if (stage === 'variants') {
          const framed = order.framed_reason ? `\n${t.variantsFramed(t.framedWhy[order.framed_reason] ?? order.framed_reason)}` : '';
          if (!await part('variants', !!order.variants_message_id,
            (sig) => album(t.variantsCaption(orderId, order!.title) + framed, (s) => `variant-${orderId}-${s.n}.jpg`, sig))) return { skipped: 'closed' };
          if (!await part('choice', !!order.choice_message_id, async (signal) => {
            const msg = await d.api.sendMessage(order!.chat_id, t.pickPrompt(orderId), { reply_markup: pickKeyboard(orderId) }, signal as never);
            return { messageId: msg.message_id, fileId: '' };
          })) return { skipped: 'closed' };
          log.info({ orderId, commitWindowMs: windows }, 'variants delivered');
          await editAck(d, order, 'variants', 0, log);
          return { variantsMessageId: order.variants_message_id, choiceMessageId: order.choice_message_id, commitWindowMs: windows };
        }
        const mp = MARKETPLACE_NAMES[order.marketplace] ?? order.marketplace;
        if (!await part('slides', !!order.photo_message_id,
          (sig) => album(t.setCaption(orderId, order!.title, mp), (s) => slideFileName(orderId, s), sig))) return { skipped: 'closed' };
        if (!await part('zip', !!order.document_message_id, async (signal) => {
          const list = await pictures();
          const file = zip(list.map((s) => ({ name: slideFileName(orderId, s), data: s.jpeg })));
          const msg = await d.api.sendDocument(order!.chat_id, new InputFile(file, `card-${orderId}-${order!.marketplace}.zip`), {
            caption: t.zipCaption, reply_markup: cardKeyboard({ newCard: t.newCard }),
          }, signal as never);
          return { messageId: msg.message_id, fileId: msg.document.file_id };
        })) return { skipped: 'closed' };
      } catch (err) {
        if (err instanceof PermanentError || err instanceof LeaseLostError || err instanceof SendInProgressError) throw err;
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
      log.info({ orderId, commitWindowMs: windows }, 'set delivered');
      await editAck(d, order, 'sent', 0, log);
      return { photoMessageId: order.photo_message_id, documentMessageId: order.document_message_id, commitWindowMs: windows };
    },
  });
}
