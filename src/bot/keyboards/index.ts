// Inline keyboards. callback_data stays short (Telegram allows 64 bytes).
import { InlineKeyboard } from 'grammy';
import { TEMPLATES } from '../../cards/templates.ts';
import type { Order } from '../../db/orders.ts';
import type { Lang, Messages } from '../../i18n/index.ts';
import { LANGS, messages } from '../../i18n/index.ts';

export const templates = (lang: Lang) =>
  new InlineKeyboard().row(...TEMPLATES.map((tpl) => InlineKeyboard.text(tpl.name[lang], `tpl:${tpl.id}`)));

export const MARKETPLACE_NAMES = { wb: 'Wildberries', ozon: 'Ozon' } as const;

export const marketplaces = () => new InlineKeyboard()
  .text(MARKETPLACE_NAMES.wb, 'mp:wb').text(MARKETPLACE_NAMES.ozon, 'mp:ozon');

export const summary = (t: Messages, nonce: string) => new InlineKeyboard()
  .text(t.btnConfirm, `ok:${nonce}`).row()
  .text(t.btnEdit, 'edit').text(t.btnCancel, 'cx');

export const editMenu = (t: Messages) => new InlineKeyboard()
  .text(t.btnTitle, 'ef:title').text(t.btnFeatures, 'ef:features').text(t.btnPrice, 'ef:price').row()
  .text(t.btnMarketplace, 'ef:marketplace').text(t.btnTemplate, 'ef:template').text(t.btnPhoto, 'ef:photo').row()
  .text(t.btnBack, 'ef:back');

export const skipPrice = (t: Messages) => new InlineKeyboard().text(t.btnSkip, 'skip');

export const cancelChoices = (list: Order[]) => {
  const kb = new InlineKeyboard();
  for (const o of list) kb.text(`✖️ #${o.id} ${o.title.slice(0, 24)}`, `oc:${o.id}`).row();
  return kb;
};

export const history = (list: Order[]) => {
  const kb = new InlineKeyboard();
  for (const o of list) kb.text(`#${o.id} ${o.title.slice(0, 30)}`, `re:${o.id}`).row();
  return kb;
};

export const langs = () => new InlineKeyboard().row(...LANGS.map((l) => InlineKeyboard.text(messages(l).langName, `lang:${l}`)));
