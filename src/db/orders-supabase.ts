// OrderStore over supabase-js RPC (PostgREST): the same SQL functions, named arguments as JSON.
import { createClient } from '@supabase/supabase-js';
import ws from 'ws';
import { SqlOrderStore, type Rpc, type RpcName } from './orders.ts';
import { RpcError } from './supabase.ts';

export function supabaseRpc(o: { url: string; serviceRoleKey: string; fetchTimeoutMs?: number }): Rpc {
  const timeout = o.fetchTimeoutMs ?? 15_000;
  const client = createClient(o.url, o.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: ws as never },
    global: { fetch: (input, init) => fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeout) }) },
  });
  return {
    mode: 'rpc',
    async call<T>(fn: RpcName, args: Record<string, unknown>): Promise<T> {
      const { data, error } = await client.rpc(fn, args);
      if (error) throw new RpcError(fn, error.code ?? '', error.message, error.details);
      return (data ?? null) as T;
    },
  };
}

export const supabaseOrderStore = (o: { url: string; serviceRoleKey: string }) => new SqlOrderStore(supabaseRpc(o));
