// src/db/rpc/catalog.ts is the one place the app learns a SQL function's name, argument
// names, argument types, defaults and result shape. It must say what supabase/schemas
// declares: built from the schema files (the test proving they equal the migrations is
// test/schema-equality.test.ts), every public function the app can call is in the
// catalog exactly as declared, and nothing in the catalog is missing from the database.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CATALOG, sqlTypeOf, type FnDef } from '../src/db/rpc/catalog.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { declaredSchemaFiles, SUPABASE_DIR } from './support/schema-files.ts';

interface DbFn { args: [string, string][]; defaults: number; returns: 'value' | 'rows' | 'values' }

/** Each callable function of schema public as the catalog would describe it (trigger functions are not callable). */
export async function declaredFunctions(db: TestDb): Promise<Map<string, DbFn>> {
  const rows = await db.sql<{ name: string; names: string[] | null; types: string[]; defaults: number; retset: boolean; rows: boolean; result: string }[]>`
    select p.proname as name, p.proargnames as names,
           array(select format_type(t, null) from unnest(p.proargtypes::oid[]) with ordinality u(t, i) order by i) as types,
           p.pronargdefaults as defaults, p.proretset as retset,
           (t.typtype = 'c' or p.proargmodes is not null) as rows, format_type(p.prorettype, null) as result
      from pg_proc p join pg_type t on t.oid = p.prorettype
     where p.pronamespace = 'public'::regnamespace and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype`;
  const short = (t: string) => t.replace('timestamp with time zone', 'timestamptz');
  return new Map(rows.map((r) => [r.name, {
    args: r.types.map((t, i) => [r.names?.[i] ?? '', short(t)]),
    defaults: r.defaults,
    returns: !r.retset ? 'value' : r.rows ? 'rows' : 'values',
  }]));
}

export function describeCatalog(): Map<string, DbFn> {
  return new Map(Object.entries(CATALOG as Record<string, FnDef>).map(([name, def]) => {
    const args = Object.entries(def.args).map(([n, t]): [string, string] => [n, sqlTypeOf(t)]);
    return [name, { args, defaults: Object.values(def.args).filter((t) => t.endsWith('?')).length, returns: def.returns }];
  }));
}

/** Differences, one line each, between what the database declares and what the catalog says. */
export function catalogDiff(declared: Map<string, DbFn>, catalog: Map<string, DbFn>): string[] {
  const out: string[] = [];
  for (const name of new Set([...declared.keys(), ...catalog.keys()])) {
    const d = declared.get(name);
    const c = catalog.get(name);
    if (!d) { out.push(`${name}: in the catalog, not in supabase/schemas`); continue; }
    if (!c) { out.push(`${name}: in supabase/schemas, not in the catalog`); continue; }
    const sig = (f: DbFn) => f.args.map(([n, t]) => `${n} ${t}`).join(', ');
    if (sig(d) !== sig(c)) out.push(`${name}: arguments (${sig(d)}) in supabase/schemas, (${sig(c)}) in the catalog`);
    if (d.defaults !== c.defaults) out.push(`${name}: ${d.defaults} defaulted argument(s) in supabase/schemas, ${c.defaults} in the catalog`);
    if (d.returns !== c.returns) out.push(`${name}: returns ${d.returns} in supabase/schemas, ${c.returns} in the catalog`);
  }
  return out;
}

describe('the RPC catalog matches supabase/schemas', () => {
  let db: TestDb;
  let declared: Map<string, DbFn>;
  before(async () => {
    db = await createTestDb({ prefix: 'nc_rpccat', migrate: false });
    for (const file of declaredSchemaFiles()) await db.sql.unsafe(readFileSync(join(SUPABASE_DIR, file), 'utf8'));
    declared = await declaredFunctions(db);
  });
  after(async () => { await db?.drop(); });

  test('every function: name, argument names and types in order, defaults, result shape', () => {
    assert.equal(declared.size, 76, 'the 77 functions of supabase/schemas less the trigger function api_cards_trash');
    const diff = catalogDiff(declared, describeCatalog());
    assert.deepEqual(diff, [], `src/db/rpc/catalog.ts and supabase/schemas disagree:\n  ${diff.join('\n  ')}`);
  });

  test('a drift on either side is named', () => {
    const catalog = describeCatalog();
    const edits: [string, (m: Map<string, DbFn>) => void, RegExp][] = [
      ['a renamed argument', (m) => { m.get('claim')!.args[1][0] = 'p_max'; }, /^claim: arguments \(.*p_limit integer.*\) in supabase\/schemas, \(.*p_max integer/],
      ['a changed type', (m) => { m.get('get_job')!.args[0][1] = 'integer'; }, /^get_job: arguments/],
      ['a missing function', (m) => { m.delete('order_photo'); }, /^order_photo: in supabase\/schemas, not in the catalog$/],
      ['an extra function', (m) => { m.set('order_gone', { args: [], defaults: 0, returns: 'value' }); }, /^order_gone: in the catalog, not in supabase\/schemas$/],
      ['a lost default', (m) => { m.get('enqueue')!.defaults = 0; }, /^enqueue: 1 defaulted argument\(s\) in supabase\/schemas, 0 in the catalog$/],
      ['a result shape', (m) => { m.get('complete')!.returns = 'rows'; }, /^complete: returns values in supabase\/schemas, rows in the catalog$/],
    ];
    for (const [what, edit, expected] of edits) {
      const changed = new Map([...catalog].map(([k, v]) => [k, structuredClone(v)]));
      edit(changed);
      const diff = catalogDiff(declared, changed);
      assert.ok(diff.some((l) => expected.test(l)), `${what}: expected ${expected} in ${JSON.stringify(diff)}`);
    }
  });
});
