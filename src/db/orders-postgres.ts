// OrderStore over a direct connection (postgres.js): `select public.fn(p_a => $1::text::T, ...)`.
// Parameters travel as text and are cast by the server, so jsonb is never double-encoded
// and numbers never lose their type, with or without prepared statements.
import type postgres from 'postgres';
import { SIGNATURES, SqlOrderStore, type Rpc, type RpcName } from './orders.ts';

export function postgresRpc(sql: postgres.Sql): Rpc {
  return {
    mode: 'direct',
    async call<T>(fn: RpcName, args: Record<string, unknown>): Promise<T> {
      const sig: Record<string, string> = SIGNATURES[fn];
      const names = Object.keys(sig);
      const list = names.map((n, i) => `${n} => $${i + 1}::text::${sig[n]}`).join(', ');
      const values = names.map((n) => {
        const v = args[n];
        if (v == null) return null;
        return typeof v === 'object' ? JSON.stringify(v) : String(v);
      });
      const rows = await sql.unsafe(`select public.${fn}(${list}) as r`, values as string[]);
      return (rows[0]?.r ?? null) as T;
    },
  };
}

export const postgresOrderStore = (sql: postgres.Sql) => new SqlOrderStore(postgresRpc(sql));
