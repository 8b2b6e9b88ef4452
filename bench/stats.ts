// stats: GET /queue of the real app (src/cli.ts start --no-worker --no-bot) over HTTP,
// on a database of 1,000,000 job rows (900,000 finished, 100,000 queued). Also times the
// stats() function itself, uncached, and writes EXPLAIN (ANALYZE, BUFFERS) of claim and
// stats on that database to bench/results/explain.txt.
import { mkdirSync, writeFileSync } from 'node:fs';
import postgres from 'postgres';
import { migrate } from '../src/db/migrate.ts';
import { BENCH, createDb, nowMs, pct, round, sleep } from './lib.ts';

export async function fillMillion(sql: postgres.Sql, total: number, queued: number) {
  const dead = Math.round(total * 0.02);
  const succeeded = total - queued - dead;
  // Finished rows spread over the last 24 h, like a day of history before retention.
  await sql.unsafe(`
    insert into public.jobs (kind, payload, status, priority, run_at, vtime, fair_key, attempts,
                             created_at, started_at, finished_at)
    select 'render', '{"orderId": 1}', 'succeeded', 0, t, t, 'u' || (g % 5000), 1, t, t, t + interval '1.5 seconds'
    from generate_series(1, ${succeeded}) g, lateral (select now() - (g % 86000) * interval '1 second' as t) x`);
  await sql.unsafe(`
    insert into public.jobs (kind, payload, status, priority, run_at, vtime, fair_key, attempts, max_attempts,
                             created_at, started_at, finished_at, last_error)
    select 'deliver', '{"orderId": 1}', 'dead', 0, t, t, 'u' || (g % 5000), 3, 3, t, t, t + interval '1 second', 'blocked'
    from generate_series(1, ${dead}) g, lateral (select now() - (g % 600000) * interval '1 second' as t) x`);
  await sql.unsafe(`
    insert into public.jobs (kind, payload, status, priority, run_at, vtime, fair_key)
    select 'render', '{"orderId": 1}', 'queued', 0, now() - interval '10 minutes', now() + g * interval '10 ms', 'u' || (g % 5000)
    from generate_series(1, ${queued}) g`);
  // The per-minute rollup a day of completions leaves behind: 1440 minutes x 2 instances.
  await sql.unsafe(`
    insert into public.job_stats (bucket, kind, worker, succeeded, dur_sum_ms, dur_hist)
    select date_trunc('minute', now()) - m * interval '1 minute', 'render', w, 300, 450000,
           array_fill(0, array[10]) || array[300] || array_fill(0, array[13])
    from generate_series(0, 1439) m, unnest(array['instance-a', 'instance-b']) w`);
  await sql.unsafe('vacuum analyze public.jobs');
  await sql.unsafe('vacuum analyze public.job_stats');
}

async function explain(url: string) {
  // auto_explain shows the plans of the statements inside the plpgsql functions themselves.
  let sink: string[] | null = null;
  const sql = postgres(url, { max: 1, onnotice: (n) => { sink?.push(n.message); } });
  const out: string[] = [];
  try {
    await sql.unsafe(`load 'auto_explain'`);
    for (const q of ['set auto_explain.log_min_duration = 0', 'set auto_explain.log_analyze = on',
      'set auto_explain.log_buffers = on', 'set auto_explain.log_nested_statements = on', 'set client_min_messages = log']) await sql.unsafe(q);
    // complete() of the 25 jobs just claimed, in the same statement. Run six times before
    // the captured one: plpgsql plans generically from the sixth call on, and the generic
    // plan is the one a long-running worker uses.
    const claimAndComplete = `with c as (select id, attempts from public.claim('explain', 25, 30))
      select count(*) from public.complete('explain', (select array_agg(id) from c), (select array_agg(attempts) from c))`;
    for (let i = 0; i < 6; i++) await sql.unsafe(`begin; ${claimAndComplete}; rollback;`).catch(async () => { await sql.unsafe('rollback').catch(() => {}); });
    for (const [title, q] of [
      ['claim(worker, 25, 30) on 1,000,000 rows, 100,000 queued', `select id from public.claim('explain', 25, 30)`],
      ['claim 25, then complete() of those 25 (generic plan, 7th call in the session)', claimAndComplete],
      ['stats() on 1,000,000 rows', `select public.stats()`],
    ] as const) {
      await sql.begin(async (tx) => { await tx.unsafe(q); await tx.unsafe('rollback to savepoint none').catch(() => {}); }).catch(() => {});
      const seen: string[] = [];
      sink = seen;
      // In a transaction that is rolled back: the claim must not change the database.
      await sql.unsafe(`begin; ${q}; rollback;`).catch(async () => { await sql.unsafe('rollback').catch(() => {}); });
      sink = null;
      out.push(`### ${title}\n\n` + seen.map((x) => x.trim()).join('\n\n'));
    }
  } finally {
    await sql.end({ timeout: 2 });
  }
  return out.join('\n\n');
}

export async function statsScenario(o: { quick: boolean }, log: (s: string) => void) {
  const total = o.quick ? 200_000 : 1_000_000, queued = o.quick ? 20_000 : 100_000;
  log(`stats: GET /queue with ${total} job rows (${queued} queued)`);
  const db = await createDb('stats');
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  try {
    await migrate(sql);
    const t = nowMs();
    await fillMillion(sql, total, queued);
    log(`  filled in ${round((nowMs() - t) / 1000)} s`);

    // The stats() function itself, uncached: what every /queue refresh costs.
    const fn: number[] = [];
    for (let i = 0; i < 5; i++) await sql`select public.stats()`;
    for (let i = 0; i < 200; i++) { const s = nowMs(); await sql`select public.stats()`; fn.push(nowMs() - s); }
    fn.sort((a, b) => a - b);

    // The real app over HTTP (its StatsCache refreshes at most once a second).
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--no-bot', '--no-worker'], {
      cwd: BENCH + '..', stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DATABASE_URL: db.url, PORT: '0', LOG_LEVEL: 'info', TELEGRAM_BOT_TOKEN: '', INSTANCE_ID: 'bench-stats' },
    });
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      const t = setTimeout(() => reject(new Error(`app did not start: ${buf.slice(-2000)}`)), 60_000);
      const on = (c: Buffer) => {
        buf += c.toString();
        const m = buf.match(/"port":(\d+)/);
        if (m) { clearTimeout(t); resolve(Number(m[1])); }
      };
      child.stdout!.on('data', on); child.stderr!.on('data', on);
    });
    const http: number[] = [];
    const base = `http://127.0.0.1:${port}/queue`;
    for (let i = 0; i < 20; i++) await (await fetch(base)).arrayBuffer();
    const seconds = o.quick ? 3 : 10, rate = 100;
    const start = nowMs();
    for (let i = 0; i < seconds * rate; i++) {
      const s = nowMs();
      const res = await fetch(base);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`/queue answered ${res.status}`);
      http.push(nowMs() - s);
      const wait = start + (i + 1) * (1000 / rate) - nowMs();
      if (wait > 0) await sleep(wait);
    }
    http.sort((a, b) => a - b);
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));

    const plans = await explain(db.url);
    mkdirSync(BENCH + 'results', { recursive: true });
    writeFileSync(BENCH + 'results/explain.txt', plans + '\n');
    log('  plans written to bench/results/explain.txt');

    return [
      { system: 'neurocards /queue (HTTP, app)', rows: total, queued, p50Ms: pct(http, 50), p99Ms: pct(http, 99), maxMs: http[http.length - 1], samples: http.length },
      { system: 'neurocards stats() uncached', rows: total, queued, p50Ms: pct(fn, 50), p99Ms: pct(fn, 99), maxMs: fn[fn.length - 1], samples: fn.length },
    ];
  } finally {
    await sql.end({ timeout: 2 });
    await db.drop();
  }
}
