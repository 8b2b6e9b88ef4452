// raw: the least a Postgres queue can do. One table, claim = CTE with FOR UPDATE SKIP
// LOCKED + UPDATE ... RETURNING for all free slots, completions batched per tick,
// LISTEN/NOTIFY wake-ups. No leases, fencing, fairness, retries or stats: the ceiling.
// Variant 'ahead' (raw with claim-ahead): the same loop, but each claim also takes up to
// 8 × concurrency jobs beyond the free slots and holds them locally until a slot frees,
// the trick neurocards' pool (and graphile-worker's localQueue) uses.
import postgres from 'postgres';
import type { BenchJob, System } from './types.ts';

const open = (url: string, max = 4) => postgres(url, { max, onnotice: () => {} });

export const raw: System = {
  name: 'raw',
  async prepare(ctx) {
    const sql = open(ctx.dbUrl, 1);
    await sql.unsafe(`
      create table raw_jobs (
        id bigint generated always as identity primary key,
        payload jsonb not null,
        status smallint not null default 0, -- 0 queued, 1 running, 2 done
        created_at timestamptz not null default now()
      ) with (fillfactor = 70);
      create index raw_jobs_queued on raw_jobs (id) where status = 0;`);
    await sql.end();
  },
  async seed(ctx, n, job) {
    const sql = open(ctx.dbUrl, 1);
    await sql`insert into raw_jobs (payload) select ${sql.json(job as never)} from generate_series(1, ${n})`;
    await sql.end();
  },
  async producer(ctx) {
    const sql = open(ctx.dbUrl, 1);
    return {
      enqueue: async (job) => {
        await sql`with i as (insert into raw_jobs (payload) values (${sql.json(job as never)}) returning id)
                  select pg_notify('raw_jobs', '') from i`;
      },
      close: () => sql.end(),
    };
  },
  async monitor(ctx) {
    const sql = open(ctx.dbUrl, 1);
    return {
      remaining: async () => (await sql`select count(*)::int as n from raw_jobs where status < 2`)[0].n,
      close: () => sql.end(),
    };
  },
  async worker(ctx, concurrency, run) {
    const sql = open(ctx.dbUrl, 4);
    let inFlight = 0, claiming = false, again = false, stopped = false;
    const aheadMax = ctx.variant === 'ahead' ? 8 * concurrency : 0;
    const held: { id: number; payload: BenchJob }[] = [];
    const start = (r: { id: number; payload: BenchJob }) => {
      inFlight++;
      run(r.payload).then(() => {
        inFlight--;
        done.push(Number(r.id));
        if (!flushScheduled) { flushScheduled = true; setImmediate(() => void flush()); }
        fill();
        void claim();
      });
    };
    const fill = () => { while (held.length > 0 && inFlight < concurrency) start(held.shift()!); };
    let done: number[] = [], flushScheduled = false;
    const flush = async () => {
      flushScheduled = false;
      const ids = done; done = [];
      if (ids.length) await sql`update raw_jobs set status = 2 where id = any(${'{' + ids.join(',') + '}'}::bigint[])`;
    };
    const claim = async () => {
      if (claiming) { again = true; return; }
      claiming = true;
      try {
        do {
          again = false;
          const free = concurrency + aheadMax - inFlight - held.length;
          if (stopped || free <= 0) break;
          const rows = await sql<{ id: number; payload: BenchJob }[]>`
            with c as (select id from raw_jobs where status = 0 order by id limit ${free} for update skip locked)
            update raw_jobs j set status = 1 from c where j.id = c.id returning j.id, j.payload`;
          held.push(...rows);
          fill();
          if (rows.length === free) again = true;
        } while (again);
      } finally { claiming = false; }
    };
    let timer: NodeJS.Timeout | null = null;
    return {
      async start() {
        await sql.listen('raw_jobs', () => void claim());
        timer = setInterval(() => void claim(), 1000);
        void claim();
      },
      async stop() { stopped = true; if (timer) clearInterval(timer); await flush(); await sql.end({ timeout: 2 }); },
    };
  },
};
