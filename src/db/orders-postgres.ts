// OrderStore over a direct connection (postgres.js), through callNamed.
import type postgres from 'postgres';
import { callNamed } from './named-call.ts';
import { SIGNATURES, SqlOrderStore, type Rpc, type RpcName } from './orders.ts';

export function postgresRpc(sql: postgres.Sql): Rpc {
  return {
    mode: 'direct',
    call: <T>(fn: RpcName, args: Record<string, unknown>) => callNamed<T>(sql, fn, SIGNATURES[fn], args),
  };
}

export const postgresOrderStore = (sql: postgres.Sql) => new SqlOrderStore(postgresRpc(sql));
