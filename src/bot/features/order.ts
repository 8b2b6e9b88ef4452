// The order conversation: photo (cut out at once, shown as a preview) → title → features →
// price (optional) → marketplace → template → summary (Confirm / Edit / Cancel) → queued;
// later the seller's pick of 1 of the 3 variants. State is the session (Postgres).
// Confirm's idempotency key comes from the update that showed the summary, so a
// repeated tap or a repeated Telegram delivery finds the same order; a pick is recorded
// once per order (order_choose), so a repeated one finds the same choice.
import { Composer, InputFile } from 'grammy';
import type { Message } from 'grammy/types';
import {
  BadPhotoError, cutoutInThread, cutoutPreview, describeChars, FEATURE_MAX_CHARS, FEATURES_MAX, formatPrice, isTemplateId,
  parsePrice, renderPreviewStrip, templateInfo, TITLE_MAX_CHARS, unsupportedChars, verifyPhoto,
} from '../../cards/index.ts';
import { downloadFile, FileTooBigError } from '../../telegram/api.ts';
import { CARD_CALLBACKS } from '../../telegram/callbacks.ts';
import type { BotContext, Draft } from '../context.ts';
import { editMenu, MARKETPLACE_NAMES, marketplaces, skipPrice, summary, templates } from '../keyboards/index.ts';

export const order = new Composer<BotContext>();

const IMAGE_MIME = /^image\/(jpeg|png|webp|tiff|avif|gif)$/;

// ── steps ──

/** `${botId}:${lang}` → Telegram's file_id of the uploaded template picture, reused after the first upload. */
const previewFileIds = new Map<string, string>();

async function showTemplates(ctx: BotContext) {
  ctx.session.step = 'template';
  const key = `${ctx.me.id}:${ctx.lang}`;
  const extra = { caption: ctx.t.chooseTemplate, reply_markup: templates(ctx.lang) };
  const cached = previewFileIds.get(key);
  if (cached) {
    const sent = await ctx.replyWithPhoto(cached, extra).then(() => true, () => false);
    if (sent) return;
    previewFileIds.delete(key); // a file_id Telegram no longer knows: upload again
  }
  const msg = await ctx.replyWithPhoto(new InputFile(await renderPreviewStrip(ctx.lang), 'templates.jpg'), extra);
  if (msg.photo?.length) previewFileIds.set(key, msg.photo.at(-1)!.file_id);
}

async function showMarketplaces(ctx: BotContext) {
  ctx.session.step = 'marketplace';
  await ctx.reply(ctx.t.askMarketplace, { reply_markup: marketplaces() });
}

async function showSummary(ctx: BotContext) {
  const d = ctx.session.draft;
  d.nonce = `u${ctx.update.update_id}`;
  ctx.session.step = 'confirm';
  ctx.session.editing = false;
  await ctx.reply(ctx.t.summary({
    title: d.title ?? '', features: d.features ?? [], price: formatPrice(d.price ?? null),
    marketplace: MARKETPLACE_NAMES[d.marketplace ?? 'wb'],
    template: isTemplateId(d.template) ? templateInfo(d.template).name[ctx.lang] : String(d.template),
  }), { reply_markup: summary(ctx.t, d.nonce) });
}

/** After a field is entered: the next step, or back to the summary when editing. */
async function next(ctx: BotContext, then: () => Promise<unknown>) {
  if (ctx.session.editing && ctx.session.draft.template) return showSummary(ctx);
  await then();
}

// ── photo in ──

/**
 * Looks at the file now (header, then a decode at 1/8 scale) so a seller hears
 * "this file is damaged / animated / too large" at once, not after confirming, and
 * keeps the checked bytes for the render job, so the photo is downloaded once.
 * A download problem is not the seller's fault: the render job will try again.
 */
async function checkPhoto(ctx: BotContext, fileId: string, uniqueId: string): Promise<{ problem: string } | { bytes: Buffer | null }> {
  let bytes: Buffer;
  try {
    bytes = await downloadFile(ctx.api, { token: ctx.deps.token, apiRoot: ctx.deps.apiRoot, fileId, maxBytes: ctx.deps.maxPhotoBytes, signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    if (err instanceof FileTooBigError) return { problem: 'too_large_bytes' };
    ctx.deps.log.warn({ err: (err as Error).message }, 'photo not checked at upload; the render will check it');
    return { bytes: null };
  }
  try {
    await verifyPhoto(bytes);
  } catch (err) {
    if (err instanceof BadPhotoError) return { problem: err.code };
    throw err;
  }
  const kept = await ctx.deps.orders.photoPut(uniqueId, bytes).then(() => true, (err: Error) => {
    ctx.deps.log.warn({ err: err.message }, 'photo not kept; the render will download it');
    return false;
  });
  return { bytes: kept ? bytes : null };
}

/**
 * The cut-out, made now (off the event loop, in the cut-out threads) so the seller sees
 * the product alone at once, or hears why the photo will be framed as is. Kept with the
 * photo for the render job; any failure here only means the render job cuts out itself.
 */
async function previewCutout(ctx: BotContext, uniqueId: string, bytes: Buffer) {
  let stage;
  try {
    stage = await cutoutInThread(bytes, { signal: AbortSignal.timeout(30_000) });
    await ctx.deps.orders.cutoutPut(uniqueId, stage.png, stage.framedReason);
  } catch (err) {
    ctx.deps.log.warn({ err: (err as Error).message }, 'no cut-out at upload; the render job will cut out');
    return;
  }
  if (stage.framedReason) {
    await ctx.reply(ctx.t.framed(ctx.t.framedWhy[stage.framedReason] ?? stage.framedReason));
  } else {
    await ctx.replyWithPhoto(new InputFile(await cutoutPreview(stage.png), 'cutout.jpg'), { caption: ctx.t.cutoutReady });
  }
}

async function acceptPhoto(ctx: BotContext, fileId: string, uniqueId: string) {
  const checked = await checkPhoto(ctx, fileId, uniqueId);
  if ('problem' in checked) return void (await ctx.reply(ctx.t.photoRejected(ctx.t.photoWhy[checked.problem] ?? checked.problem)));
  if (checked.bytes) await previewCutout(ctx, uniqueId, checked.bytes);
  const s = ctx.session;
  if (s.editing && s.draft.title) {
    s.draft.photoFileId = fileId;
    s.draft.photoUniqueId = uniqueId;
    return showSummary(ctx);
  }
  ctx.session = { step: 'title', draft: { photoFileId: fileId, photoUniqueId: uniqueId }, ...(s.lang ? { lang: s.lang } : {}) };
  await ctx.reply(ctx.t.askTitle);
}

async function tooBig(ctx: BotContext, size: number | undefined) {
  if (!size || size <= ctx.deps.maxPhotoBytes) return false;
  const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
  await ctx.reply(ctx.t.tooBig(mb(size), Math.round(mb(ctx.deps.maxPhotoBytes))));
  return true;
}

order.on('message:photo', async (ctx) => {
  const p = ctx.message.photo.at(-1)!;
  if (await tooBig(ctx, p.file_size)) return;
  await acceptPhoto(ctx, p.file_id, p.file_unique_id);
});

order.on('message:document', async (ctx, nextMw) => {
  const doc = ctx.message.document;
  if (ctx.message.animation) return nextMw(); // GIF/MP4 animations come as documents too
  if (!IMAGE_MIME.test(doc.mime_type ?? '')) return void (await ctx.reply(ctx.t.notImage));
  if (await tooBig(ctx, doc.file_size)) return;
  await acceptPhoto(ctx, doc.file_id, doc.file_unique_id);
});

// ── texts by step ──

function parseFeatures(text: string): { list: string[]; trimmed: boolean } {
  const all = text.split('\n').map((l) => l.replace(/^\s*(?:[-–—•*·✓✔]|\d+[.)])\s*/, '').trim()).filter(Boolean)
    .map((l) => ([...l].length > FEATURE_MAX_CHARS ? [...l].slice(0, FEATURE_MAX_CHARS - 1).join('') + '…' : l));
  return { list: all.slice(0, FEATURES_MAX), trimmed: all.length > FEATURES_MAX };
}

const SKIP_WORDS = /^(-|—|нет|без цены|пропустить|skip|no|none)$/i;

/** undefined = not a price; null = no price (a skip word). */
function priceOrSkip(text: string): string | null | undefined {
  if (SKIP_WORDS.test(text.trim())) return null;
  return parsePrice(text) ?? undefined;
}

order.on('message:text', async (ctx, nextMw) => {
  const text = ctx.message.text;
  if (text.startsWith('/')) return nextMw();
  const s = ctx.session;
  switch (s.step) {
    case 'title': {
      const title = text.replace(/\s+/g, ' ').trim();
      if (!title) return void (await ctx.reply(ctx.t.titleEmpty));
      const n = [...title].length;
      if (n > TITLE_MAX_CHARS) return void (await ctx.reply(ctx.t.titleTooLong(n)));
      const bad = unsupportedChars(title, 'bold');
      if (bad.length) return void (await ctx.reply(ctx.t.unsupportedChars(describeChars(bad))));
      s.draft.title = title;
      s.step = 'features';
      return next(ctx, () => ctx.reply(ctx.t.askFeatures));
    }
    case 'features': {
      const { list, trimmed } = parseFeatures(text);
      const bad = unsupportedChars(list.join(' '), 'regular');
      if (bad.length) return void (await ctx.reply(ctx.t.unsupportedChars(describeChars(bad))));
      s.draft.features = list;
      if (trimmed) await ctx.reply(ctx.t.featuresTrimmed);
      s.step = 'price';
      return next(ctx, () => ctx.reply(ctx.t.askPrice, { reply_markup: skipPrice(ctx.t) }));
    }
    case 'price': {
      const price = priceOrSkip(text);
      if (price === undefined) return void (await ctx.reply(ctx.t.badPrice, { reply_markup: skipPrice(ctx.t) }));
      s.draft.price = price;
      return next(ctx, () => showMarketplaces(ctx));
    }
    case 'marketplace': return void (await ctx.reply(ctx.t.tapMarketplace, { reply_markup: marketplaces() }));
    case 'template': return void (await ctx.reply(ctx.t.tapTemplate));
    case 'confirm': return void (await ctx.reply(ctx.t.tapSummary));
    default: return void (await ctx.reply(ctx.t.askPhoto));
  }
});

// ── buttons ──

order.callbackQuery('skip', async (ctx) => {
  await ctx.answerCallbackQuery();
  if (ctx.session.step !== 'price') return;
  ctx.session.draft.price = null;
  await next(ctx, () => showMarketplaces(ctx));
});

order.callbackQuery(/^mp:(wb|ozon)$/, async (ctx) => {
  const s = ctx.session;
  if (!s.draft.photoFileId || !s.draft.title || (s.step !== 'marketplace' && s.step !== 'confirm')) {
    return void (await ctx.answerCallbackQuery({ text: ctx.t.outdated }));
  }
  const mp = ctx.match[1] as 'wb' | 'ozon';
  await ctx.answerCallbackQuery({ text: MARKETPLACE_NAMES[mp] });
  s.draft.marketplace = mp;
  await next(ctx, () => showTemplates(ctx));
});

order.callbackQuery(/^tpl:(\w+)$/, async (ctx) => {
  const id = ctx.match[1];
  const s = ctx.session;
  if (!isTemplateId(id) || !s.draft.photoFileId || !s.draft.title || (s.step !== 'template' && s.step !== 'confirm')) {
    return void (await ctx.answerCallbackQuery({ text: ctx.t.outdated }));
  }
  await ctx.answerCallbackQuery({ text: templateInfo(id).name[ctx.lang] });
  s.draft.template = id;
  await showSummary(ctx);
});

order.callbackQuery('edit', async (ctx) => {
  await ctx.answerCallbackQuery();
  if (ctx.session.step !== 'confirm') return;
  await ctx.editMessageReplyMarkup({ reply_markup: editMenu(ctx.t) }).catch(() => {});
});

order.callbackQuery(/^ef:(title|features|price|marketplace|template|photo|back)$/, async (ctx) => {
  await ctx.answerCallbackQuery();
  const s = ctx.session;
  if (s.step !== 'confirm' || !s.draft.nonce) return;
  const field = ctx.match[1];
  if (field === 'back') return void (await ctx.editMessageReplyMarkup({ reply_markup: summary(ctx.t, s.draft.nonce) }).catch(() => {}));
  await ctx.editMessageReplyMarkup().catch(() => {});
  s.editing = true;
  delete s.draft.nonce; // the old summary's Confirm is stale from now on
  switch (field) {
    case 'title': s.step = 'title'; return void (await ctx.reply(ctx.t.askNewTitle));
    case 'features': s.step = 'features'; return void (await ctx.reply(ctx.t.askFeatures));
    case 'price': s.step = 'price'; return void (await ctx.reply(ctx.t.askPrice, { reply_markup: skipPrice(ctx.t) }));
    case 'marketplace': return showMarketplaces(ctx);
    case 'template': return showTemplates(ctx);
    case 'photo': s.step = 'photo'; return void (await ctx.reply(ctx.t.askPhoto));
  }
});

/** Creates (or finds) the order for `key`, answers with the queue position, records the answer. */
async function placeOrder(ctx: BotContext, key: string, d: Draft | null) {
  const { orders } = ctx.deps;
  const res = await orders.confirm({
    key, userId: ctx.from!.id, chatId: ctx.chat!.id, lang: ctx.lang,
    photoFileId: d?.photoFileId ?? null, photoUniqueId: d?.photoUniqueId ?? null, title: d?.title ?? null,
    features: d?.features ?? [], price: d?.price ?? null, template: d?.template ?? 'clean', marketplace: d?.marketplace ?? 'wb',
    maxOpen: ctx.deps.maxOpenOrders, dailyQuota: ctx.deps.dailyQuota,
  });
  switch (res.result) {
    case 'created':
    case 'exists': {
      const o = res.order;
      await ctx.answerCallbackQuery(res.result === 'exists' ? { text: ctx.t.alreadyOrdered(o.id) } : undefined);
      if (d && ctx.session.draft === d) {
        ctx.session = { step: 'idle', draft: {}, ...(ctx.session.lang ? { lang: ctx.session.lang } : {}) };
      }
      // Also after a crash between creating the order and answering (Telegram redelivers).
      if (!o.ack_message_id) {
        const q = res.queue;
        const msg: Message.TextMessage = await ctx.reply(ctx.t.queued(o.id, q?.position ?? 1, q?.estimate_seconds ?? 5));
        await orders.setAck(o.id, msg.message_id);
      }
      return;
    }
    case 'limit_open':
      await ctx.answerCallbackQuery();
      return void (await ctx.reply(ctx.t.limitOpen(ctx.deps.maxOpenOrders)));
    case 'limit_daily':
      await ctx.answerCallbackQuery();
      return void (await ctx.reply(ctx.t.limitDaily(ctx.deps.dailyQuota)));
    default:
      return void (await ctx.answerCallbackQuery({ text: ctx.t.outdated, show_alert: true }));
  }
}

order.callbackQuery(/^ok:(\w{1,40})$/, async (ctx) => {
  const nonce = ctx.match[1];
  const s = ctx.session;
  const fresh = s.step === 'confirm' && s.draft.nonce === nonce && !!s.draft.photoFileId && !!s.draft.title;
  await placeOrder(ctx, `confirm:${ctx.from.id}:${nonce}`, fresh ? s.draft : null);
});

// 1 / 2 / 3 under the variants: the seller's pick starts the set. Recorded once per order:
// the same tap again (or the same update redelivered) finds the same choice.
order.callbackQuery(CARD_CALLBACKS.pickPattern, async (ctx) => {
  const id = Number(ctx.match[1]);
  const n = Number(ctx.match[2]);
  const r = await ctx.deps.orders.choose(id, ctx.from.id, n);
  if (!r) return void (await ctx.answerCallbackQuery({ text: ctx.t.notYours }));
  switch (r.result) {
    case 'ok':
      await ctx.answerCallbackQuery({ text: ctx.t.picked(n) });
      // The chosen number stays on the message; the other buttons go.
      await ctx.editMessageReplyMarkup({ reply_markup: { inline_keyboard: [[{ text: `✅ ${n}`, callback_data: CARD_CALLBACKS.pick(id, n) }]] } }).catch(() => {});
      return;
    case 'conflict': return void (await ctx.answerCallbackQuery({ text: ctx.t.alreadyChosen(r.choice ?? 0), show_alert: true }));
    case 'not_ready': return void (await ctx.answerCallbackQuery({ text: ctx.t.notReady }));
    default: return void (await ctx.answerCallbackQuery({ text: ctx.t.orderClosed }));
  }
});
