// OrderStore over supabase-js RPC (PostgREST): the same SQL functions, named arguments as JSON.
import { SqlOrderStore, type Rpc, type RpcName } from './orders.ts';
import { RpcError } from './supabase.ts';
import { createServiceClient } from './supabase-client.ts';

export function supabaseRpc(o: { url: string; serviceRoleKey: string; fetchTimeoutMs?: number }): Rpc {
  const client = createServiceClient(o);
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
