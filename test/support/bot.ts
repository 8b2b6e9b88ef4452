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

/** Photo → title → features → price → template → summary. Returns the summary message. */
export async function fillOrder(user: FakeUser, photo: Buffer, o: { title?: string; features?: string; price?: string; template?: string } = {}): Promise<Ordered> {
  await after(user, () => user.sendCommand('/start'));
  await after(user, () => user.sendPhoto(photo), (m) => m.kind === 'text');
  await after(user, () => user.sendText(o.title ?? 'Кружка керамическая 350 мл'));
  await after(user, () => user.sendText(o.features ?? 'Объём 350 мл\nМожно в посудомойку\nПодарочная коробка'));
  const tpl = await after(user, () => user.sendText(o.price ?? '990'), (m) => m.kind === 'photo');
  assert.ok(buttons(tpl).length >= 3, 'at least 3 templates offered');
  const summary = await after(user, () => user.pressButton(tpl.message_id, `tpl:${o.template ?? 'bold'}`), (m) => buttons(m).some((b) => b.startsWith('ok:')));
  return { summary, confirmData: buttons(summary).find((b) => b.startsWith('ok:'))! };
}

