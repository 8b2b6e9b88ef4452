// The HTTP API's part of the composition root: its database calls (either transport),
// where results are kept, its job kinds (api-card, api-card-set, sweep-api-results) and the handlers of
// its /api routes (mounted by src/http/routes.ts).
import { aiFromConfig, backdropWorstMs, forOrder } from '../ai/index.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/open.ts';
import type { Logger } from '../log.ts';
import { apiCardJob } from './jobs/api-card.ts';
import { apiCardSetJob } from './jobs/api-card-set.ts';
import type { JobKind } from '../worker/registry.ts';
import { loadApiConfig, type ApiConfig } from './config.ts';
import { ApiDb } from './db.ts';
import { apiHandlers, type ApiHandlers } from './routes.ts';
import { sweepApiResultsJob } from './jobs/sweep-api-results.ts';
import { DbResultStore, SupabaseResultStore, type ResultStore } from './storage.ts';

export interface ApiPart {
  db: ApiDb;
  results: ResultStore;
  config: ApiConfig;
  jobs: JobKind<any>[];
  handlers: ApiHandlers;
}

export const openApiDb = (db: Pick<Database, 'rpc'>): ApiDb => new ApiDb(db.rpc);

export function openResultStore(config: Config, api: ApiConfig, db: ApiDb): ResultStore {
  if (config.SUPABASE_URL && config.SUPABASE_SERVICE_ROLE_KEY) {
    return new SupabaseResultStore(db, {
      url: config.SUPABASE_URL, serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY,
      bucket: api.API_RESULTS_BUCKET, signedUrlSeconds: api.API_SIGNED_URL_SECONDS,
    });
  }
  return new DbResultStore(db);
}

export function composeApi(config: Config, database: Pick<Database, 'rpc' | 'limits' | 'ai'>, log: Logger, env: NodeJS.ProcessEnv = process.env): ApiPart {
  const api = loadApiConfig(env);
  const db = openApiDb(database);
  const results = openResultStore(config, api, db);
  log.info({ results: results.kind }, `API on /api (results kept in ${results.kind === 'db' ? 'the database' : `Supabase Storage bucket ${api.API_RESULTS_BUCKET}`})`);
  return {
    db, results, config: api,
    jobs: [apiCardJob({ db, backdropsFor: aiBackdropsFor(config, database, log), backdropMaxMs: backdropWorstMs(config.AI_BACKDROP_TIMEOUT_MS) }), apiCardSetJob({ db, results }), sweepApiResultsJob(results, config.MAINTENANCE_EVERY_S * 1000)],
    handlers: apiHandlers({ db, results, config: api, log: log.child({ part: 'api' }) }),
  };
}

/** With an OpenRouter key, each card's variants ask the AI for their backdrops (null → local). */
function aiBackdropsFor(config: Config, database: Pick<Database, 'limits' | 'ai'>, log: Logger) {
  const ai = aiFromConfig(config, database.limits, { store: database.ai, holder: config.instanceId, log: log.child({ part: 'ai' }) });
  const source = ai?.backdrop;
  if (!source) return undefined;
  log.info({ model: config.OPENROUTER_IMAGE_MODEL, keys: ai.pool?.size ?? 1 }, 'AI backdrops on for API cards');
  return (orderKey: string) => forOrder(source, orderKey);
}
