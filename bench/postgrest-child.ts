// The PostgREST-compatible server (test/support/postgrest.ts) in a process of its own, as
// PostgREST itself runs: the RPC worker's CPU is then the worker's, not the server's.
// With `servers` > 1 this process is a node:cluster primary that forks that many server
// processes sharing one listening port (the primary accepts and hands each connection to
// the next server, round robin), each with its own `poolSize` connections to `databaseUrl`
// (the fleet points it at PgBouncer). That is what serves Supabase's RPC calls at scale:
// PostgREST answers requests concurrently on every core (GHC's threaded runtime) over a
// shared db-pool, and replicas behind a load balancer add cores; one Node process is one
// core. All servers share the JWT secret, so a key signed by one verifies on every other.
// Answers {url, serviceRoleKey, pids} on stdout once every server listens; exits when
// told to stop or when stdin closes.
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { onParentMessage, toParent } from './lib.ts';

interface Args { databaseUrl: string; servers?: number; poolSize?: number }
const { databaseUrl, servers = 1, poolSize = 10 } = JSON.parse(process.env.BENCH_ARGS!) as Args;

async function serve(jwtSecret?: string) {
  const { startPostgrest } = await import('../test/support/postgrest.ts' as string);
  return startPostgrest({ databaseUrl, jwtSecret, poolSize }) as Promise<{ url: string; serviceRoleKey: string; close(): Promise<void> }>;
}

if (servers <= 1) {
  const rest = await serve();
  toParent({ url: rest.url, serviceRoleKey: rest.serviceRoleKey, pids: [process.pid] });
  onParentMessage(async (m) => {
    if (m.stop) { await rest.close(); process.exit(0); }
  });
  process.stdin.on('end', () => void rest.close().finally(() => process.exit(0)));
} else if (cluster.isPrimary) {
  const jwtSecret = randomBytes(32).toString('hex');
  // Servers answer over IPC; stdout stays the parent's JSON channel.
  cluster.setupPrimary({ stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const workers = Array.from({ length: servers }, () => cluster.fork({ PGRST_BENCH_JWT_SECRET: jwtSecret }));
  const up = await Promise.all(workers.map((w) => new Promise<{ url: string; serviceRoleKey: string }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('exit', (code) => reject(new Error(`PostgREST server ${w.id} exited with ${code} before listening`)));
  })));
  if (new Set(up.map((u) => u.url)).size !== 1) throw new Error(`servers listen on different ports: ${up.map((u) => u.url)}`);
  toParent({ url: up[0].url, serviceRoleKey: up[0].serviceRoleKey, pids: [process.pid, ...workers.map((w) => w.process.pid)] });
  const stop = async () => {
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) return resolve();
      w.once('exit', () => resolve());
      w.send({ stop: true });
    })));
    process.exit(0);
  };
  onParentMessage(async (m) => { if (m.stop) await stop(); });
  process.stdin.on('end', () => void stop());
} else {
  const rest = await serve(process.env.PGRST_BENCH_JWT_SECRET);
  process.send!({ url: rest.url, serviceRoleKey: rest.serviceRoleKey });
  process.on('message', async (m: { stop?: boolean }) => {
    if (m.stop) { await rest.close(); process.exit(0); }
  });
  // The primary gone (SIGKILLed with the benchmark): nothing to serve for.
  process.on('disconnect', () => void rest.close().finally(() => process.exit(0)));
}
