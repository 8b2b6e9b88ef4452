// API keys: "nc_" + 8 hex (the prefix, shown in listings) + "_" + 43 chars of base64url
// (256 random bits). Postgres keeps only the sha-256 of the whole key.
import { createHash, randomBytes } from 'node:crypto';
import type { ApiDb, KeyRow } from './db.ts';

export const KEY_PATTERN = /^nc_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/;

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function generateKey(): { key: string; prefix: string; hash: string } {
  const prefix = `nc_${randomBytes(4).toString('hex')}`;
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashKey(key) };
}

export async function createKey(db: ApiDb, o: { name: string; rate?: number; quota?: number }): Promise<{ key: string; row: KeyRow }> {
  const g = generateKey();
  const row = await db.keyCreate({ name: o.name, prefix: g.prefix, hash: g.hash, rate: o.rate, quota: o.quota });
  return { key: g.key, row };
}

const table = (rows: KeyRow[]) => {
  if (rows.length === 0) return 'no API keys (create one: npx neurocards apikey create --name <name>)';
  const head = ['prefix', 'name', 'rate/min', 'quota/day', 'today', 'created', 'last used', 'state'];
  const body = rows.map((r) => [
    r.prefix, r.name, String(r.rate_per_minute), String(r.daily_quota), String(r.cards_today ?? 0),
    r.created_at.slice(0, 16).replace('T', ' '), r.last_used_at ? r.last_used_at.slice(0, 16).replace('T', ' ') : '-',
    r.revoked_at ? 'revoked' : 'active',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [head, ...body].map((cols) => cols.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
};

export class ApiKeyUsage extends Error {}

/** `npx neurocards apikey create|list|revoke`; prints and returns the exit code. */
export async function apikeyCommand(db: ApiDb, args: {
  sub?: string; target?: string; name?: string; rate?: string; quota?: string; json?: boolean;
}, defaults: { rate: number; quota: number }): Promise<number> {
  const num = (v: string | undefined, flag: string, def: number) => {
    if (v === undefined) return def;
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new ApiKeyUsage(`${flag} must be a positive whole number`);
    return Number(v);
  };
  switch (args.sub) {
    case 'create': {
      if (!args.name) throw new ApiKeyUsage('apikey create needs --name <name>');
      const { key, row } = await createKey(db, {
        name: args.name, rate: num(args.rate, '--rate', defaults.rate), quota: num(args.quota, '--quota', defaults.quota),
      });
      if (args.json) console.log(JSON.stringify({ ...row, key }));
      else {
        console.log(`API key ${row.prefix} "${row.name}" (${row.rate_per_minute} requests/min, ${row.daily_quota} cards/day):`);
        console.log(key);
        console.log('It is shown only now: store it safely. Use it as `Authorization: Bearer <key>`.');
      }
      return 0;
    }
    case 'list': {
      const rows = await db.keyList();
      console.log(args.json ? JSON.stringify(rows) : table(rows));
      return 0;
    }
    case 'revoke': {
      if (!args.target) throw new ApiKeyUsage('apikey revoke needs the key prefix (nc_xxxxxxxx) or id');
      const target = KEY_PATTERN.test(args.target) ? args.target.slice(0, 11) : args.target;
      const row = await db.keyRevoke(target);
      if (!row) { console.error(`no API key ${args.target}`); return 1; }
      console.log(`API key ${row.prefix} "${row.name}" revoked`);
      return 0;
    }
    default:
      throw new ApiKeyUsage('apikey needs create, list or revoke');
  }
}
