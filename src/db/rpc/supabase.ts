// The RPC transport: supabase-js `.rpc(fn, args)`, i.e. PostgREST, which runs each call
// as one transaction (the unit the SQL functions are written for). Arguments go as JSON;
// bytes as base64 (see the catalog), arrays of bigint as numbers.
import type { SupabaseClient } from '@supabase/supabase-js';
import { fnDef, type ArgsOf, type FnName, type ResultOf } from './catalog.ts';
import type { Rpc } from './index.ts';

export class RpcError extends Error {
  constructor(readonly fn: string, readonly code: string, message: string, readonly details?: string | null) {
    super(`${fn}: ${message}${code ? ` (${code})` : ''}`);
    this.name = 'RpcError';
  }
}

function toJson(args: Record<string, unknown>, types: Record<string, string>) {
  const out: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(types)) {
    const v = args[name];
    if (v === undefined) { if (!type.endsWith('?')) out[name] = null; continue; }
    out[name] = Buffer.isBuffer(v) ? v.toString('base64')
      : type.startsWith('bigint') && v !== null ? (Array.isArray(v) ? v.map(Number) : Number(v))
      : v instanceof Date ? v.toISOString() : v;
  }
  return out;
}

export function supabaseRpc(client: SupabaseClient): Rpc {
  return {
    mode: 'rpc',
    async call<F extends FnName>(fn: F, args: ArgsOf<F>, o?: { columns?: readonly string[] }): Promise<ResultOf<F>> {
      const rpc = client.rpc(fn, toJson(args as Record<string, unknown>, fnDef(fn).args));
      const { data, error } = await (o?.columns ? rpc.select(o.columns.join(',')) : rpc);
      if (error) throw new RpcError(fn, error.code ?? '', error.message, error.details);
      return (data ?? null) as ResultOf<F>;
    },
  };
}
