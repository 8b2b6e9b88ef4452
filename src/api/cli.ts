// `npx neurocards apikey create --name N [--rate R] [--quota Q] | list | revoke <prefix|id>` [--json]
import type { Database } from '../db/open.ts';
import { loadApiConfig } from './config.ts';
import { openApiDb } from './index.ts';
import { apikeyCommand, ApiKeyUsage } from './keys.ts';

export const APIKEY_USAGE = `  apikey create --name N [--rate R] [--quota Q]
                                    new API key (R requests/min, Q cards/day); printed once
  apikey list [--json]              API keys: prefix, name, limits, cards today, state
  apikey revoke <prefix|id>         revoke a key (its requests get 403)`;

export async function runApikey(db: Pick<Database, 'rpc'>, positionals: string[],
  values: { name?: string; rate?: string; quota?: string; json?: boolean }): Promise<number> {
  const api = loadApiConfig();
  try {
    return await apikeyCommand(openApiDb(db), {
      sub: positionals[0], target: positionals[1], name: values.name, rate: values.rate, quota: values.quota, json: values.json,
    }, { rate: api.API_RATE_PER_MINUTE, quota: api.API_DAILY_QUOTA });
  } catch (err) {
    if (err instanceof ApiKeyUsage) { console.error(err.message); return 2; }
    throw err;
  }
}
