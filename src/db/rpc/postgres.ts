// The direct transport: `select public.fn(p_a => $1::text::T, ...)` over postgres.js.
// Every value travels as text and the server casts it to the catalog's type, so jsonb
// is never double-encoded and numbers keep their type, with or without prepared
// statements. The queue's hot path (../postgres.ts) wraps callExpr() in its own select.
import type postgres from 'postgres';
import { fnDef, sqlTypeOf, type ArgsOf, type FnName, type ResultOf } from './catalog.ts';
import type { Rpc } from './index.ts';

/** `public.fn(p_a => $1::text::T, …)` for the given arguments (in catalog order), numbered from $start. */
export function callExpr(fn: FnName, names: readonly string[], start = 1): string {
  const def = fnDef(fn);
  const list = names.map((n, i) => {
    const t = def.args[n];
    if (t === undefined) throw new Error(`${fn}: no argument ${n} in the catalog`);
    return `${n} => $${start + i}::text::${sqlTypeOf(t)}`;
  });
  return `public.${fn}(${list.join(', ')})`;
}

/** One argument as the text Postgres casts from. */
export function toText(type: string, v: unknown): string | null {
  if (v == null) return null;
  const t = sqlTypeOf(type);
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (t.endsWith('[]')) return `{${(v as unknown[]).join(',')}}`;
  if (t === 'jsonb') return JSON.stringify(v);
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

const statements = new Map<string, string>();

function statement(fn: FnName, names: string[]): string {
  const key = `${fn}(${names.join(',')})`;
  let text = statements.get(key);
  if (!text) {
    const call = callExpr(fn, names);
    const returns = fnDef(fn).returns;
    text = returns === 'rows' ? `select * from ${call}` : `select ${call} as r`;
    statements.set(key, text);
  }
  return text;
}

export function postgresRpc(sql: postgres.Sql, o: { prepare?: boolean } = {}): Rpc {
  return {
    mode: 'direct',
    async call<F extends FnName>(fn: F, args: ArgsOf<F>, opts?: { columns?: readonly string[] }): Promise<ResultOf<F>> {
      const def = fnDef(fn);
      const given = args as Record<string, unknown>;
      // A defaulted argument left out is not named at all, so SQL's default applies.
      const names = Object.keys(def.args).filter((n) => !(given[n] === undefined && def.args[n].endsWith('?')));
      let text = statement(fn, names);
      if (opts?.columns && def.returns === 'rows') text = text.replace('select *', `select ${opts.columns.join(', ')}`);
      const rows = await sql.unsafe(text, names.map((n) => toText(def.args[n], given[n])) as string[], { prepare: o.prepare ?? false });
      if (def.returns === 'rows') return [...rows] as ResultOf<F>;
      if (def.returns === 'values') return rows.map((r) => r.r) as ResultOf<F>;
      return (rows[0]?.r ?? null) as ResultOf<F>;
    },
  };
}
