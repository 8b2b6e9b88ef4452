// Helpers for bot tests: the app in-process against the fake Telegram, and a user
// walking through the order conversation.
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startApp, type RunningApp } from '../../src/main.ts';
import type { BotMessage, FakeTelegram, FakeUser } from './fake-telegram.ts';

export const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';

export function botEnv(dbUrl: string, tg: FakeTelegram, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: dbUrl, TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: tg.apiRoot, PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG ?? 'silent', POLL_INTERVAL_MS: '200', LEASE_SECONDS: '10', SHUTDOWN_GRACE_MS: '3000',
    ...extra,
  };
}

export async function startBotApp(dbUrl: string, tg: FakeTelegram, extra: Record<string, string> = {}, o: { worker?: boolean; bot?: boolean } = {}): Promise<RunningApp> {
  const env = botEnv(dbUrl, tg, extra);
  const config = loadConfig(env);
  return startApp(config, createLogger({ level: env.LOG_LEVEL, instanceId: config.instanceId }), { worker: o.worker, bot: o.bot });
}

/** Does `act`, then waits for the first bot message newer than everything before it that matches. */
export async function after(user: FakeUser, act: () => unknown, pred: (m: BotMessage) => boolean = () => true, ms = 15_000): Promise<BotMessage> {
  const before = Math.max(0, ...user.messages().map((m) => m.message_id));
  await act();
  return user.waitForMessage((m) => m.message_id > before && pred(m), ms);
}

export const buttons = (m: BotMessage): string[] =>
  (m.reply_markup?.inline_keyboard ?? []).flat().map((b: { callback_data?: string }) => b.callback_data ?? '');

export interface Ordered { summary: BotMessage; confirmData: string; }

/** The bot's "now the title" question (after the cut-out preview or the framed notice). */
export const isAskTitle = (m: BotMessage) => m.kind === 'text' && /title|назван/i.test(m.text ?? '');

/** Photo → (cut-out preview) → title → features → price → marketplace → template → summary. Returns the summary message. */
export async function fillOrder(user: FakeUser, photo: Buffer, o: { title?: string; features?: string; price?: string; template?: string; marketplace?: 'wb' | 'ozon' } = {}): Promise<Ordered> {
  await after(user, () => user.sendCommand('/start'));
  await after(user, () => user.sendPhoto(photo), isAskTitle, 60_000);
  await after(user, () => user.sendText(o.title ?? 'Кружка керамическая 350 мл'));
  await after(user, () => user.sendText(o.features ?? 'Объём 350 мл\nМожно в посудомойку\nПодарочная коробка'));
  const mp = await after(user, () => user.sendText(o.price ?? '990'), (m) => buttons(m).some((b) => b.startsWith('mp:')));
  const tpl = await after(user, () => user.pressButton(mp.message_id, `mp:${o.marketplace ?? 'wb'}`), (m) => m.kind === 'photo');
  assert.ok(buttons(tpl).length >= 3, 'at least 3 templates offered');
  const summary = await after(user, () => user.pressButton(tpl.message_id, `tpl:${o.template ?? 'bold'}`), (m) => buttons(m).some((b) => b.startsWith('ok:')));
  return { summary, confirmData: buttons(summary).find((b) => b.startsWith('ok:'))! };
}


/** The messages of one album (sendMediaGroup), in order. */
export const albumOf = (user: FakeUser, first: BotMessage): BotMessage[] =>
  user.messages().filter((m) => m.media_group_id && m.media_group_id === first.media_group_id).sort((a, b) => a.message_id - b.message_id);

/** Waits for an album of `n` photos newer than `afterId`; returns its messages in order. */
export async function waitForAlbum(user: FakeUser, afterId: number, n: number, ms = 30_000): Promise<BotMessage[]> {
  const first = await user.waitForMessage((m) => m.message_id > afterId && m.method === 'sendMediaGroup', ms);
  const deadline = Date.now() + 5_000;
  while (albumOf(user, first).length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return albumOf(user, first);
}

export interface Delivered { variants: BotMessage[]; choice: BotMessage; slides: BotMessage[]; zip: BotMessage }

/** Confirm → the 3 variants (album) and the 1/2/3 message → pick `n` → the set's album and the zip. */
export async function confirmAndPick(user: FakeUser, ordered: Ordered, n = 1, ms = 40_000): Promise<Delivered> {
  const before = Math.max(0, ...user.messages().map((m) => m.message_id));
  await user.pressButton(ordered.summary.message_id, ordered.confirmData);
  const variants = await waitForAlbum(user, before, 3, ms);
  const choice = await user.waitForMessage((m) => m.message_id > before && buttons(m).some((b) => b.startsWith('pick:')), ms);
  const pick = buttons(choice).find((b) => b.endsWith(`:${n}`))!;
  const beforePick = Math.max(0, ...user.messages().map((m) => m.message_id));
  await user.pressButton(choice.message_id, pick);
  const slides = await waitForAlbum(user, beforePick, 3, ms);
  const zip = await user.waitForMessage((m) => m.message_id > beforePick && m.kind === 'document', ms);
  return { variants, choice, slides, zip };
}
