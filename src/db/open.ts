// Picks the store adapter the configuration asks for, and checks the schema is current.
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { startEmbedded } from './embedded.ts';
import { assertSchemaCurrent, migrate } from './migrate.ts';
import { PostgresStore } from './postgres.ts';
import type { Store } from './store.ts';
import { SupabaseStore } from './supabase.ts';

export interface OpenedStore {
  store: Store;
  /** Closes the store and, in embedded mode, stops the embedded Postgres. */
  close(): Promise<void>;
}

export async function openStore(config: Config, log: Logger, o: { migrate?: boolean } = {}): Promise<OpenedStore> {
  const db = config.database;
  let store: Store;
  let stopEmbedded: (() => Promise<void>) | null = null;
  if (db.mode === 'rpc') {
    store = new SupabaseStore({ url: db.url, serviceRoleKey: db.serviceRoleKey });
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
      applicationName: `neurocards ${config.instanceId}`,
    });
    store = pg;
    // The embedded database belongs to this process: keep it migrated. A shared
    // database is migrated by the deploy step (`npx neurocards migrate`), never by
    // whichever instance happens to boot first.
    if (db.mode === 'embedded' || o.migrate) {
      const applied = await migrate(pg.sql, (m) => log.info(m));
      if (applied.length) log.info({ applied: applied.length }, 'database migrated');
    }
  }
  const close = async () => {
    await store.close().catch((err) => log.warn({ err }, 'closing the store failed'));
    if (stopEmbedded) await stopEmbedded().catch((err) => log.warn({ err }, 'stopping embedded Postgres failed'));
  };
  try {
    assertSchemaCurrent(await store.schemaVersion());
  } catch (err) {
    await close();
    throw err;
  }
  return { store, close };
}
