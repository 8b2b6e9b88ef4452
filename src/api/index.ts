// The HTTP API's part of the composition root: its database calls (either transport),
// where results are kept, the api-card job kind and the /api routes.
import type { Hono } from 'hono';
import type { Config } from '../config.ts';
import { PostgresStore } from '../db/postgres.ts';
import type { Store } from '../db/store.ts';
import type { Logger } from '../log.ts';
import { scrub } from '../log.ts';
import { apiCardJob } from '../worker/jobs/api-card.ts';
import type { JobKind } from '../worker/registry.ts';
import { loadApiConfig, type ApiConfig } from './config.ts';
import { ApiDb, postgresCaller, supabaseCaller } from './db.ts';
import { apiRoutes } from './routes.ts';
import { DbResultStore, SupabaseResultStore, type ResultStore } from './storage.ts';

export interface ApiPart {
  db: ApiDb;
  results: ResultStore;
  config: ApiConfig;
  jobs: JobKind<any>[];
  routes: Hono<any>;
  stop(): void;
}

export function openApiDb(config: Config, store: Store): ApiDb {
  if (store instanceof PostgresStore) return new ApiDb(postgresCaller(store.sql));
  if (config.database.mode === 'rpc') return new ApiDb(supabaseCaller(config.database));
  throw new Error('no API database for this store');
}

export function openResultStore(config: Config, api: ApiConfig, db: ApiDb): ResultStore {
  if (config.SUPABASE_URL && config.SUPABASE_SERVICE_ROLE_KEY) {
    return new SupabaseResultStore(db, {
      url: config.SUPABASE_URL, serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY,
      bucket: api.API_RESULTS_BUCKET, signedUrlSeconds: api.API_SIGNED_URL_SECONDS,
    });
  }
  return new DbResultStore(db);
}

const SWEEP_EVERY_MS = 10 * 60_000;

export function composeApi(config: Config, store: Store, log: Logger, env: NodeJS.ProcessEnv = process.env): ApiPart {
  const api = loadApiConfig(env);
  const db = openApiDb(config, store);
  const results = openResultStore(config, api, db);
  log.info({ results: results.kind }, `API on /api (results kept in ${results.kind === 'db' ? 'the database' : `Supabase Storage bucket ${api.API_RESULTS_BUCKET}`})`);
  // Rate windows, old usage rows, and Storage objects of cards deleted with their jobs.
  const timer = setInterval(() => {
    results.sweep().catch((err) => log.warn({ err: scrub(String(err?.message ?? err)) }, 'API sweep failed'));
  }, SWEEP_EVERY_MS);
  timer.unref();
  return {
    db, results, config: api,
    jobs: [apiCardJob({ db, results })],
    routes: apiRoutes({ db, results, config: api, log: log.child({ part: 'api' }) }),
    stop: () => clearInterval(timer),
  };
}
