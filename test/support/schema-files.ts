// The declarative schema's files in the order supabase/config.toml declares, expanded
// the way the Supabase CLI expands `[db.migrations] schema_paths`: each pattern's matches
// sorted, a file matched by an earlier pattern skipped, a pattern matching nothing an error.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SUPABASE_DIR = fileURLToPath(new URL('../../supabase/', import.meta.url));

/** The string list `schema_paths = [...]` of the `[db.migrations]` table (enough TOML for it). */
export function schemaPathsOf(configToml: string): string[] {
  const section = /^\[db\.migrations\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(configToml)?.[1];
  const list = section && /^schema_paths\s*=\s*\[([\s\S]*?)\]/m.exec(section)?.[1];
  if (!list) throw new Error('supabase/config.toml has no [db.migrations] schema_paths list');
  const withoutComments = list.split('\n').map((l) => l.replace(/#.*$/, '')).join('\n');
  return [...withoutComments.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

function globToRegExp(segment: string) {
  const body = segment.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** Files (relative to supabase/, with forward slashes) matched by one pattern, sorted. */
function glob(pattern: string, base: string): string[] {
  let paths = [''];
  for (const segment of pattern.replace(/^\.\//, '').split('/')) {
    const re = globToRegExp(segment);
    paths = paths.flatMap((p) => {
      const dir = join(base, p);
      try { if (!statSync(dir).isDirectory()) return []; } catch { return []; }
      return readdirSync(dir).filter((name) => re.test(name)).map((name) => (p ? `${p}/${name}` : name));
    });
  }
  return paths.filter((p) => statSync(join(base, p)).isFile()).sort();
}

export function expandSchemaPaths(patterns: string[], base = SUPABASE_DIR): string[] {
  const seen = new Set<string>();
  const files: string[] = [];
  for (const pattern of patterns) {
    const matches = glob(pattern, base);
    if (matches.length === 0) throw new Error(`schema_paths: no files matched pattern: ${pattern}`);
    for (const f of matches) if (!seen.has(f)) { seen.add(f); files.push(f); }
  }
  return files;
}

/** Every .sql file under supabase/schemas, relative to supabase/. */
export function allSchemaFiles(base = SUPABASE_DIR): string[] {
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.sql') ? [join(dir, e.name)] : []);
  return walk(join(base, 'schemas')).map((f) => relative(base, f).split('\\').join('/')).sort();
}

/** The declared order: config.toml's schema_paths, expanded. */
export function declaredSchemaFiles(base = SUPABASE_DIR): string[] {
  return expandSchemaPaths(schemaPathsOf(readFileSync(join(base, 'config.toml'), 'utf8')), base);
}
