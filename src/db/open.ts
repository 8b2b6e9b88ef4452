// Opens the database the configuration asks for, checks the schema is current, and hands
// out the stores over the one RPC layer (the API's own, src/api/db.ts, is built on `rpc`), with the transport's own capabilities (LISTEN
// wake-ups inside the queue store; an advisory-lock polling leader over a direct session).
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { AiStore } from './ai.ts';
import { BotSessionStore } from './bot-session.ts';
import { startEmbedded } from './embedded.ts';
import { AdvisoryLeader, LeaseLeader, type Leader } from './leader.ts';
import { assertSchemaCurrent, migrate } from './migrate.ts';
import { OrderStore } from './orders.ts';
import { PostgresStore } from './postgres.ts';
import { RateLimitStore } from './rate-limit.ts';
import type { Rpc } from './rpc/index.ts';
import type { Store } from './store.ts';
import { SupabaseStore } from './supabase.ts';

export interface Database {
  readonly mode: 'direct' | 'rpc';
  readonly rpc: Rpc;
  /** The queue. */
  readonly store: Store;
  readonly orders: OrderStore;
  readonly sessions: BotSessionStore;
  readonly limits: RateLimitStore;
  /** The AI stage's key pool and paid-call ledger. */
  readonly ai: AiStore;
  /** Long-polling leadership for bot `botId`: an advisory lock (direct) or a lease row (rpc). */
  pollingLeader(botId: number, holder: string): Leader;
  /** Closes the store and, in embedded mode, stops the embedded Postgres. */
  close(): Promise<void>;
}

/** @deprecated name kept for callers: openStore() returns the whole Database. */
export type OpenedStore = Database;

function over(store: PostgresStore | SupabaseStore, leader: (sessions: BotSessionStore, botId: number, holder: string) => Leader,
  close: () => Promise<void>): Database {
  const { rpc } = store;
  const sessions = new BotSessionStore(rpc);
  return {
    mode: rpc.mode, rpc, store, sessions,
    orders: new OrderStore(rpc), limits: new RateLimitStore(rpc), ai: new AiStore(rpc),
    pollingLeader: (botId, holder) => leader(sessions, botId, holder),
    close,
  };
}

/** A Database over a direct connection (tests and tools that hold a PostgresStore). */
export const directDatabase = (store: PostgresStore, close = () => store.close()) =>
  over(store, (_s, botId) => new AdvisoryLeader(store.sql, botId), close);

/** A Database over supabase-js RPC. */
export const rpcDatabase = (store: SupabaseStore, close = () => store.close()) =>
  over(store, (sessions, botId, holder) => new LeaseLeader(sessions, `poll:${botId}`, holder), close);

export async function openStore(config: Config, log: Logger, o: { migrate?: boolean } = {}): Promise<Database> {
  const db = config.database;
  let stopEmbedded: (() => Promise<void>) | null = null;
  let opened: Database;
  const closeWith = (store: { close(): Promise<void> }) => async () => {
    await store.close().catch((err) => log.warn({ err }, 'closing the store failed'));
    if (stopEmbedded) await stopEmbedded().catch((err) => log.warn({ err }, 'stopping embedded Postgres failed'));
  };
  if (db.mode === 'rpc') {
    const store = new SupabaseStore({ url: db.url, serviceRoleKey: db.serviceRoleKey });
    opened = rpcDatabase(store, closeWith(store));
  } else {
    let url: string;
    if (db.mode === 'embedded') {
      const embedded = await startEmbedded({ dir: db.dir, port: db.port, log });
      url = embedded.url;
      stopEmbedded = embedded.stop;
    } else {
      url = db.url;
    }
    const pg = new PostgresStore({
      url,
      poolSize: config.DB_POOL_SIZE,
      prepare: db.mode === 'direct' ? db.prepare : true,
      listen: db.mode === 'direct' ? db.listen : true,
      applicationName: `neurocards ${config.instanceId}`,
    });
    opened = directDatabase(pg, closeWith(pg));
    // The embedded database belongs to this process: keep it migrated. A shared
    // database is migrated by the deploy step (`npx neurocards migrate`), never by
    // whichever instance happens to boot first.
    if (db.mode === 'embedded' || o.migrate) {
      const applied = await migrate(pg.sql, (m) => log.info(m));
      if (applied.length) log.info({ applied: applied.length }, 'database migrated');
    }
  }
  try {
    assertSchemaCurrent(await opened.store.schemaVersion());
  } catch (err) {
    await opened.close();
    throw err;
  }
  return opened;
}
