// Calls one of our SQL functions over a direct connection with named arguments:
// `select public.fn(p_a => $1::text::T, ...)`. Every value travels as text and is cast
// by the server, so jsonb is never double-encoded and numbers keep their type, with or
// without prepared statements. Used by the order and API stores (the queue's own
// adapter, src/db/postgres.ts, writes its hot-path statements by hand).
import type postgres from 'postgres';

export type Signature = Readonly<Record<string, string>>;

export async function callNamed<T>(sql: postgres.Sql, fn: string, sig: Signature, args: Record<string, unknown>): Promise<T> {
  const names = Object.keys(sig);
  const list = names.map((n, i) => `${n} => $${i + 1}::text::${sig[n]}`).join(', ');
  const values = names.map((n) => {
    const v = args[n];
    if (v == null) return null;
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
  const rows = await sql.unsafe(`select public.${fn}(${list}) as r`, values as string[]);
  return (rows[0]?.r ?? null) as T;
}
