// The bot's context type and dependencies.
import type { Context, SessionFlavor } from 'grammy';
import type { BotSessionStore } from '../db/bot-session.ts';
import type { OrderStore } from '../db/orders.ts';
import type { AiCostStats } from '../db/rpc/results.ts';
import type { QueueStats } from '../db/store.ts';
import type { Logger } from '../log.ts';
import type { Lang, Messages } from '../i18n/index.ts';

export type Step = 'idle' | 'photo' | 'title' | 'features' | 'price' | 'marketplace' | 'template' | 'confirm';

export interface Draft {
  photoFileId?: string;
  photoUniqueId?: string;
  title?: string;
  features?: string[];
  price?: string | null;
  marketplace?: 'wb' | 'ozon';
  template?: string;
  /** Set when the summary is shown: from that update's update_id. Confirm's idempotency key. */
  nonce?: string;
}

export interface SessionData {
  step: Step;
  draft: Draft;
  /** Explicit /lang choice; absent = follow Telegram's language_code. */
  lang?: Lang;
  /** Changing one field from the summary: go back to the summary after it. */
  editing?: boolean;
}

export interface BotDeps {
  token: string;
  apiRoot: string;
  orders: OrderStore;
  sessions: BotSessionStore;
  queueStats(): Promise<QueueStats>;
  /** What the AI provider reported it charged (admin /stats); absent = not shown. */
  aiCost?(): Promise<AiCostStats>;
  log: Logger;
  adminIds: number[];
  maxOpenOrders: number;
  dailyQuota: number;
  maxPhotoBytes: number;
  /** grammY plugins on outgoing calls (tests may turn throttling off). */
  throttle?: boolean;
  /** Time all Telegram calls of one update may take, retries included (src/bot/budget.ts). */
  updateBudgetMs?: number;
  /** Aborted when a shutdown stops waiting for handlers: their Telegram calls end at once. */
  abandon?: AbortSignal;
  /** Skip getMe at start (tests that construct many bots). */
  botInfo?: import('grammy/types').UserFromGetMe;
}

export type BotContext = Context & SessionFlavor<SessionData> & {
  t: Messages;
  lang: Lang;
  deps: BotDeps;
};

export const initialSession = (): SessionData => ({ step: 'idle', draft: {} });
