// A snapshot of the app's objects in a database's catalog (schema public: the app owns
// it; supabase_migrations is the migration runner's), and a readable diff of two of them.
// What it holds: types, tables (options, RLS flags, ACLs), columns (position, type,
// default, nullability, identity, ACL), constraints, indexes, sequences, views, functions
// (arguments, result, language, body, volatility, security definer, config such as
// search_path, ACL), triggers, policies, default privileges, extensions, comments, and the
// rows of every table (seeded reference data).
import type postgres from 'postgres';

type Sql = postgres.Sql | postgres.TransactionSql;
export type Snapshot = Record<string, Record<string, unknown>>;

const byKey = (rows: readonly Record<string, unknown>[]) =>
  Object.fromEntries(rows.map(({ key, ...rest }) => [String(key), rest]));

export async function snapshot(sql: Sql): Promise<Snapshot> {
  const ns = `(select oid from pg_namespace where nspname = 'public')`;
  const q = (text: string) => sql.unsafe(text);
  const s: Snapshot = {};

  s.type = byKey(await q(`
    select t.typname as key, t.typtype as kind, t.typacl::text as acl,
           (select array_agg(e.enumlabel order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid) as labels,
           format_type(t.typbasetype, t.typtypmod) as base, obj_description(t.oid, 'pg_type') as comment
      from pg_type t
     where t.typnamespace = ${ns} and t.typtype in ('e', 'd', 'r', 'm', 'c')
       and (t.typrelid = 0 or (select relkind from pg_class where oid = t.typrelid) = 'c')
       and t.typname !~ '^_'`));

  s.relation = byKey(await q(`
    select c.relname as key, c.relkind as kind, c.relpersistence as persistence, c.reloptions as options,
           c.relrowsecurity as rls, c.relforcerowsecurity as force_rls, c.relreplident as replica_identity,
           c.relacl::text as acl, pg_get_userbyid(c.relowner) as owner, obj_description(c.oid, 'pg_class') as comment
      from pg_class c where c.relnamespace = ${ns} and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')`));

  s.column = byKey(await q(`
    select c.relname || '.' || a.attname as key,
           row_number() over (partition by c.oid order by a.attnum) as position,
           format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null,
           pg_get_expr(d.adbin, d.adrelid) as default, a.attidentity as identity, a.attgenerated as generated,
           (select collname from pg_collation where oid = a.attcollation and a.attcollation <> 100) as collation,
           a.attstorage as storage, a.attacl::text as acl, col_description(c.oid, a.attnum) as comment
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
     where c.relnamespace = ${ns} and c.relkind in ('r', 'p', 'v', 'm', 'f') and a.attnum > 0 and not a.attisdropped`));

  s.constraint = byKey(await q(`
    select coalesce(c.relname, t.typname) || '.' || k.conname as key, k.contype as kind,
           pg_get_constraintdef(k.oid) as definition, k.condeferrable as deferrable,
           k.condeferred as deferred, k.convalidated as validated
      from pg_constraint k left join pg_class c on c.oid = k.conrelid left join pg_type t on t.oid = k.contypid
     where k.connamespace = ${ns}`));

  s.index = byKey(await q(`
    select i.relname as key, pg_get_indexdef(x.indexrelid) as definition, x.indisclustered as clustered,
           obj_description(i.oid, 'pg_class') as comment
      from pg_index x join pg_class i on i.oid = x.indexrelid where i.relnamespace = ${ns}`));

  s.sequence = byKey(await q(`
    select c.relname as key, format_type(q.seqtypid, null) as type, q.seqstart as start, q.seqincrement as increment,
           q.seqmin as min, q.seqmax as max, q.seqcache as cache, q.seqcycle as cycle,
           (select t.relname || '.' || a.attname from pg_depend d join pg_class t on t.oid = d.refobjid
              join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
             where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i')) as owned_by
      from pg_sequence q join pg_class c on c.oid = q.seqrelid where c.relnamespace = ${ns}`));

  s.view = byKey(await q(`
    select c.relname as key, pg_get_viewdef(c.oid) as definition
      from pg_class c where c.relnamespace = ${ns} and c.relkind in ('v', 'm')`));

  s.function = byKey(await q(`
    select 'public.' || p.proname || '(' || oidvectortypes(p.proargtypes) || ')' as key, p.prokind as kind,
           pg_get_function_arguments(p.oid) as arguments, pg_get_function_result(p.oid) as result,
           l.lanname as language, p.prosrc as body, p.provolatile as volatility, p.prosecdef as security_definer,
           p.proconfig as config, p.proisstrict as strict, p.proleakproof as leakproof, p.proparallel as parallel,
           p.procost::float8 as cost, p.prorows::float8 as rows, p.proacl::text as acl,
           pg_get_userbyid(p.proowner) as owner, obj_description(p.oid, 'pg_proc') as comment
      from pg_proc p join pg_language l on l.oid = p.prolang where p.pronamespace = ${ns}`));

  s.trigger = byKey(await q(`
    select c.relname || '.' || t.tgname as key, pg_get_triggerdef(t.oid) as definition, t.tgenabled as enabled
      from pg_trigger t join pg_class c on c.oid = t.tgrelid
     where c.relnamespace = ${ns} and not t.tgisinternal`));

  s.policy = byKey(await q(`
    select tablename || '.' || policyname as key, permissive, roles, cmd, qual, with_check
      from pg_policies where schemaname = 'public'`));

  s.default_privileges = byKey(await q(`
    select coalesce(n.nspname, '(all schemas)') || ' ' || d.defaclobjtype::text || ' of ' || pg_get_userbyid(d.defaclrole) as key,
           d.defaclacl::text as acl
      from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace`));

  s.schema = byKey(await q(`
    select nspname as key, nspacl::text as acl, pg_get_userbyid(nspowner) as owner, obj_description(oid, 'pg_namespace') as comment
      from pg_namespace where nspname = 'public'`));

  s.extension = byKey(await q(`
    select e.extname as key, e.extversion as version, n.nspname as schema
      from pg_extension e join pg_namespace n on n.oid = e.extnamespace`));

  // Reference data the app needs (e.g. the default rate limits) is part of "the schema" too.
  const tables = await q(`select relname from pg_class where relnamespace = ${ns} and relkind in ('r', 'p') order by 1`);
  s.rows = {};
  for (const { relname } of tables) {
    const [r] = await q(`select coalesce(array_agg(t order by t), '{}') as rows
                           from (select to_jsonb(x)::text as t from public."${relname}" x) s`);
    s.rows[relname as string] = { rows: r.rows };
  }
  return s;
}

function firstDifference(a: string, b: string) {
  const la = a.split('\n');
  const lb = b.split('\n');
  const i = la.findIndex((line, n) => line !== lb[n]);
  const at = i === -1 ? la.length : i;
  return `first difference at line ${at + 1}: ${JSON.stringify(la[at] ?? '<end>')} vs ${JSON.stringify(lb[at] ?? '<end>')}`;
}

/** Every difference between two snapshots, one readable line each; [] when equal. */
export function diffSnapshots(a: Snapshot, b: Snapshot, names: [string, string] = ['a', 'b']): string[] {
  const out: string[] = [];
  for (const kind of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const ka = a[kind] ?? {};
    const kb = b[kind] ?? {};
    for (const key of [...new Set([...Object.keys(ka), ...Object.keys(kb)])].sort()) {
      if (!(key in kb)) { out.push(`${kind} ${key}: only in ${names[0]}`); continue; }
      if (!(key in ka)) { out.push(`${kind} ${key}: only in ${names[1]}`); continue; }
      const fa = ka[key] as Record<string, unknown>;
      const fb = kb[key] as Record<string, unknown>;
      for (const field of new Set([...Object.keys(fa), ...Object.keys(fb)])) {
        const va = JSON.stringify(fa[field] ?? null);
        const vb = JSON.stringify(fb[field] ?? null);
        if (va === vb) continue;
        const detail = typeof fa[field] === 'string' && typeof fb[field] === 'string' && (fa[field] as string).includes('\n')
          ? firstDifference(fa[field] as string, fb[field] as string)
          : `${names[0]} ${va.slice(0, 300)}, ${names[1]} ${vb.slice(0, 300)}`;
        out.push(`${kind} ${key}: ${field} differs (${detail})`);
      }
    }
  }
  return out;
}
