// The PostgREST-compatible server (test/support/postgrest.ts) in a process of its own, as
// PostgREST itself runs: the RPC worker's CPU is then the worker's, not the server's.
// Answers {url, serviceRoleKey} on stdout once listening; exits when stdin closes.
import { onParentMessage, toParent } from './lib.ts';

const { databaseUrl } = JSON.parse(process.env.BENCH_ARGS!) as { databaseUrl: string };
const { startPostgrest } = await import('../test/support/postgrest.ts' as string);
const rest = await startPostgrest({ databaseUrl });
toParent({ url: rest.url, serviceRoleKey: rest.serviceRoleKey });
onParentMessage(async (m) => {
  if (m.stop) { await rest.close(); process.exit(0); }
});
process.stdin.on('end', () => void rest.close().finally(() => process.exit(0)));
