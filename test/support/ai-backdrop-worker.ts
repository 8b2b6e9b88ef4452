// A worker process that asks for one AI backdrop, for test/ai-backdrop.test.ts's kill
// simulations. Prints JSON lines: "recorded" once the answer is committed, "returned" with
// the result. HANG_AFTER_RECORD=1 freezes the process right after the record, before the
// result is returned (the test then SIGKILLs it). Env: DATABASE_URL, AI_BASE_URL, AI_KEY,
// ORDER_KEY, VARIANT, LEASE_S, TIMEOUT_MS, AI_LIMITS.
import postgres from 'postgres';
import { aiBackdrop, KeyPool } from '../../src/ai/index.ts';
import { AiStore } from '../../src/db/ai.ts';
import { postgresRpc } from '../../src/db/rpc/postgres.ts';

const env = process.env;
const sql = postgres(env.DATABASE_URL!, { max: 2, onnotice: () => {} });
const store = new AiStore(postgresRpc(sql));
const source = aiBackdrop({
  store, pool: new KeyPool(store, [env.AI_KEY!], env.AI_LIMITS ?? 'ai'),
  baseUrl: env.AI_BASE_URL!, model: 'google/gemini-2.5-flash-image',
  timeoutMs: Number(env.TIMEOUT_MS ?? 10_000), holder: `child-${process.pid}`, leaseSeconds: Number(env.LEASE_S ?? 30),
  onRecorded: (r) => {
    console.log(JSON.stringify({ msg: 'recorded', ...r })); // a pipe: written synchronously on Linux
    // Frozen as a process the kernel is about to kill: nothing after the record runs.
    if (env.HANG_AFTER_RECORD === '1') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  },
});
console.log(JSON.stringify({ msg: 'started' }));
const out = await source({
  orderKey: env.ORDER_KEY!, variant: Number(env.VARIANT ?? 1), template: 'clean', marketplace: 'wb',
  productHint: 'Кружка', width: 900, height: 1200,
});
console.log(JSON.stringify({ msg: 'returned', bytes: out?.length ?? null }));
await sql.end();
