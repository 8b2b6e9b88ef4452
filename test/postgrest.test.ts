// The PostgREST-compatible test server (test/support/postgrest.ts), driven by the real
// supabase-js client against a fresh database with every migration applied.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import postgres from 'postgres';
import WebSocket from 'ws';
import { startPostgrest, type PostgrestServer } from './support/postgrest.ts';
import { waitFor } from './support/wait.ts';

const ADMIN_URL = process.env.NEUROCARDS_TEST_PG ?? 'postgres://root@127.0.0.1:5432/postgres';
const MIGRATIONS = join(import.meta.dirname, '..', 'supabase', 'migrations');

function client(url: string, key: string): SupabaseClient {
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false },
    // Node 20 has no global WebSocket; realtime is never connected here anyway.
    realtime: { transport: WebSocket as never },
  });
}

interface Job {
  id: number;
  kind: string;
  status: string;
  attempts: number;
  payload: Record<string, unknown>;
}

describe('PostgREST test server', () => {
  const dbName = `nc_pgrst_${randomBytes(6).toString('hex')}`;
  let admin: postgres.Sql;
  let db: postgres.Sql;
  let dbUrl: string;
  let srv: PostgrestServer;
  let service: SupabaseClient;
  let anon: SupabaseClient;
  let authed: SupabaseClient;

  before(async () => {
    admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${dbName}`);
    const u = new URL(ADMIN_URL);
    u.pathname = `/${dbName}`;
    dbUrl = u.toString();
    db = postgres(dbUrl, { max: 2, onnotice: () => {} });
    await db.unsafe(`
      create schema if not exists supabase_migrations;
      create table supabase_migrations.schema_migrations(version text primary key, statements text[], name text);`);
    for (const file of readdirSync(MIGRATIONS).filter((f) => f.endsWith('.sql')).sort()) {
      await db.unsafe(readFileSync(join(MIGRATIONS, file), 'utf8'));
      const [version, ...rest] = file.replace(/\.sql$/, '').split('_');
      await db`insert into supabase_migrations.schema_migrations (version, name) values (${version!}, ${rest.join('_')})`;
    }
    // Probes for transaction/role behaviour, callable by every API role.
    await db.unsafe(`
      create function public.pgrst_whoami()
      returns jsonb language sql volatile as $$
        select jsonb_build_object(
          'user', current_user,
          'claims', nullif(current_setting('request.jwt.claims', true), '')::jsonb,
          'method', current_setting('request.method', true),
          'path', current_setting('request.path', true),
          'apikey', nullif(current_setting('request.headers', true), '')::jsonb ->> 'apikey',
          'read_only', current_setting('transaction_read_only'))
      $$;
      create table public.pgrst_probe (k integer unique deferrable initially deferred);
      grant all on public.pgrst_probe to anon, authenticated, service_role;
      -- The duplicate only fails at COMMIT: the server must report it and keep nothing.
      create function public.pgrst_insert_twice(p_k integer)
      returns integer language plpgsql volatile as $$
      begin
        insert into public.pgrst_probe values (p_k);
        insert into public.pgrst_probe values (p_k);
        return p_k;
      end $$;
      create function public.pgrst_insert_then_raise(p_k integer, p_fail boolean default true)
      returns integer language plpgsql volatile as $$
      begin
        insert into public.pgrst_probe values (p_k);
        if p_fail then raise exception 'probe failed for %', p_k using hint = 'on purpose'; end if;
        return p_k;
      end $$;
      create function public.pgrst_echo(p_ids bigint[], p_doc jsonb default '{}', p_status public.job_status default 'queued')
      returns table (ids bigint[], doc jsonb, status public.job_status, n bigint)
      language sql stable as $$ select p_ids, p_doc, p_status, 9007199254740993::bigint $$;
      create function public.pgrst_sleep(p_ms integer)
      returns integer language plpgsql volatile as $$
      begin perform pg_sleep(p_ms / 1000.0); return p_ms; end $$;
      create function public.pgrst_single_json(jsonb)
      returns jsonb language sql immutable as $$ select $1 $$;
      create function public.pgrst_raise_custom()
      returns void language plpgsql as $$
      begin
        raise sqlstate 'PGRST' using
          message = '{"code":"123","message":"Payment Required","details":"Quota exceeded","hint":"Upgrade"}',
          detail = '{"status":402,"headers":{"X-Powered-By":"Nerd"}}';
      end $$;
      grant execute on function public.pgrst_whoami(), public.pgrst_insert_twice(integer),
        public.pgrst_insert_then_raise(integer, boolean), public.pgrst_echo(bigint[], jsonb, public.job_status),
        public.pgrst_single_json(jsonb), public.pgrst_raise_custom(), public.pgrst_sleep(integer)
        to anon, authenticated, service_role;`);

    srv = await startPostgrest({ databaseUrl: dbUrl });
    service = client(srv.url, srv.serviceRoleKey);
    anon = client(srv.url, srv.anonKey);
    authed = client(srv.url, srv.authenticatedKey);
  });

  after(async () => {
    await srv?.close();
    await db?.end({ timeout: 5 });
    await admin?.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin?.end({ timeout: 5 });
  });

  test('health: GET /rest/v1/ answers 200', async () => {
    const res = await fetch(`${srv.url}/rest/v1/`);
    assert.equal(res.status, 200);
    await res.text();
  });

  test('enqueue → claim → complete round trip with supabase-js', async () => {
    const enq = await service.rpc('enqueue', {
      p_jobs: [
        { kind: 'rt', payload: { n: 1 } },
        { kind: 'rt', payload: { n: 2 }, idempotency_key: 'rt-2' },
      ],
    });
    assert.equal(enq.error, null);
    assert.equal(enq.status, 200);
    const jobs = enq.data as Job[];
    assert.ok(Array.isArray(jobs));
    assert.equal(jobs.length, 2);
    for (const j of jobs) {
      assert.equal(typeof j.id, 'number');
      assert.equal(j.status, 'queued');
      assert.equal(j.kind, 'rt');
    }
    assert.deepEqual(jobs.map((j) => j.payload), [{ n: 1 }, { n: 2 }]);

    // Same idempotency key: the existing job, not a new one.
    const again = await service.rpc('enqueue', { p_jobs: [{ kind: 'rt', idempotency_key: 'rt-2' }] });
    assert.equal(again.error, null);
    assert.deepEqual((again.data as Job[]).map((j) => j.id), [jobs[1]!.id]);

    const claim = await service.rpc('claim', { p_worker: 'w-rt', p_limit: 10, p_lease_seconds: 30 });
    assert.equal(claim.error, null);
    const claimed = claim.data as Job[];
    assert.deepEqual(claimed.map((j) => j.id).sort((a, b) => a - b), jobs.map((j) => j.id).sort((a, b) => a - b));
    assert.ok(claimed.every((j) => j.status === 'running' && j.attempts === 1));

    const done = await service.rpc('complete', {
      p_worker: 'w-rt',
      p_ids: claimed.map((j) => j.id),
      p_attempts: claimed.map((j) => j.attempts),
    });
    assert.equal(done.error, null);
    // setof bigint → a JSON array of numbers
    assert.deepEqual((done.data as number[]).sort((a, b) => a - b), claimed.map((j) => j.id).sort((a, b) => a - b));

    const empty = await service.rpc('claim', { p_worker: 'w-rt', p_limit: 10, p_lease_seconds: 30 });
    assert.equal(empty.error, null);
    assert.deepEqual(empty.data, []);
  });

  test('?select= on a function returning rows: only those columns; a malformed list is 400 PGRST100', async () => {
    const enq = await service.rpc('enqueue', { p_jobs: [{ kind: 'sel', payload: { n: 7 } }] });
    assert.equal(enq.error, null);
    const got = await service.rpc('claim', { p_worker: 'w-sel', p_limit: 5, p_lease_seconds: 30 }).select('id,kind,payload,attempts');
    assert.equal(got.error, null);
    const rows = got.data as unknown as Record<string, unknown>[];
    assert.equal(rows.length, 1);
    assert.deepEqual(Object.keys(rows[0]!).sort(), ['attempts', 'id', 'kind', 'payload']);
    assert.deepEqual(rows[0]!.payload, { n: 7 });
    const bad = await service.rpc('get_job', { p_id: rows[0]!.id }).select('id;drop table x');
    assert.equal(bad.status, 400);
    assert.equal(bad.error?.code, 'PGRST100');
    const unknown = await service.rpc('get_job', { p_id: rows[0]!.id }).select('id,nope');
    assert.equal(unknown.status, 400);
    assert.equal(unknown.error?.code, '42703');
  });

  test('scalar, jsonb, table and void results', async () => {
    const stats = await service.rpc('stats');
    assert.equal(stats.error, null);
    assert.equal(typeof stats.data, 'object');
    assert.ok(stats.data !== null && !Array.isArray(stats.data));
    assert.equal(typeof (stats.data as { queued: unknown }).queued, 'number');

    const version = await service.rpc('schema_version');
    assert.equal(version.error, null);
    const newest = readdirSync(MIGRATIONS).filter((f) => f.endsWith('.sql')).sort().at(-1)!.split('_')[0];
    assert.equal(version.data, newest);

    const leave = await service.rpc('worker_leave', { p_worker: 'nobody' });
    assert.equal(leave.error, null);
    assert.equal(leave.data, null);
    assert.equal(leave.status, 204);

    const [job] = (await service.rpc('enqueue', { p_jobs: [{ kind: 'rel' }] })).data as Job[];
    const [c] = (await service.rpc('claim', { p_worker: 'w-rel', p_limit: 1, p_lease_seconds: 30 })).data as Job[];
    assert.equal(c!.id, job!.id);
    const rel = await service.rpc('release', { p_worker: 'w-rel', p_ids: [job!.id] });
    assert.equal(rel.error, null);
    assert.equal(rel.data, 1);
    const rel0 = await service.rpc('release', { p_worker: 'w-rel', p_ids: [job!.id] });
    assert.equal(rel0.data, 0);

    // returns table(status, run_at) → array of objects
    const [c2] = (await service.rpc('claim', { p_worker: 'w-rel', p_limit: 1, p_lease_seconds: 30 })).data as Job[];
    const failed = await service.rpc('fail', { p_worker: 'w-rel', p_id: c2!.id, p_attempt: c2!.attempts, p_error: 'x', p_retry_in_ms: 60_000 });
    assert.equal(failed.error, null);
    const rows = failed.data as Array<{ status: string; run_at: string }>;
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'queued');
    assert.ok(!Number.isNaN(Date.parse(rows[0]!.run_at)));

    // arrays, jsonb, enums and defaults go through Postgres's own JSON → SQL conversion;
    // bigint comes back as a JSON number (precision is the client's problem, as with PostgREST)
    const echo = await service.rpc('pgrst_echo', { p_ids: [1, 2, 3], p_doc: { a: [1, { b: null }] } });
    assert.equal(echo.error, null);
    assert.deepEqual(echo.data, [{ ids: [1, 2, 3], doc: { a: [1, { b: null }] }, status: 'queued', n: 9007199254740992 }]);
    const badEnum = await service.rpc('pgrst_echo', { p_ids: [], p_status: 'nope' });
    assert.equal(badEnum.error?.code, '22P02');
    assert.equal(badEnum.status, 400);

    // a single unnamed json parameter receives the whole body
    const single = await service.rpc('pgrst_single_json', { any: ['thing'] });
    assert.equal(single.error, null);
    assert.deepEqual(single.data, { any: ['thing'] });

    // .single() on a set-returning function
    const one = await service.rpc('get_job', { p_id: job!.id }).single();
    assert.equal(one.error, null);
    assert.equal((one.data as Job).id, job!.id);
    const none = await service.rpc('get_job', { p_id: -1 }).single();
    assert.equal(none.error?.code, 'PGRST116');
    assert.equal(none.status, 406);
  });

  test('unknown function or argument names → 404 PGRST202', async () => {
    const r = await service.rpc('no_such_function', { a: 1 });
    assert.equal(r.status, 404);
    assert.equal(r.error?.code, 'PGRST202');
    assert.equal(r.error?.message, 'Could not find the function public.no_such_function(a) in the schema cache');
    assert.equal(r.data, null);

    const r2 = await service.rpc('claim', { p_worker: 'w', p_limit: 1 });
    assert.equal(r2.error?.code, 'PGRST202');
    assert.match(r2.error?.hint ?? '', /claim\(p_lease_seconds, p_limit, p_worker\)/);

    const r3 = await service.rpc('claim', { p_worker: 'w', p_limit: 1, p_lease_seconds: 1, extra: true });
    assert.equal(r3.error?.code, 'PGRST202');

    const r4 = await service.rpc('no_such_function');
    assert.equal(r4.error?.message, 'Could not find the function public.no_such_function without parameters in the schema cache');
  });

  test('anon and authenticated keys are denied the service_role functions', async () => {
    for (const [c, status] of [[anon, 401], [authed, 403]] as const) {
      const r = await c.rpc('claim', { p_worker: 'intruder', p_limit: 1, p_lease_seconds: 30 });
      assert.equal(r.error?.code, '42501');
      assert.match(r.error?.message ?? '', /permission denied/);
      assert.equal(r.status, status);
      assert.equal(r.data, null);
    }
    // and the role really is switched per request
    for (const [c, role] of [[anon, 'anon'], [authed, 'authenticated'], [service, 'service_role']] as const) {
      const who = await c.rpc('pgrst_whoami');
      assert.equal(who.error, null);
      const d = who.data as { user: string; claims: { role: string }; method: string; path: string };
      assert.equal(d.user, role);
      assert.equal(d.claims.role, role);
      assert.equal(d.method, 'POST');
      assert.equal(d.path, '/rest/v1/rpc/pgrst_whoami');
    }
  });

  test('SQL errors come back with their SQLSTATE, message, details and hint', async () => {
    const r = await service.rpc('enqueue', { p_jobs: 5 });
    assert.equal(r.status, 400);
    assert.equal(r.error?.code, '22023');
    assert.equal(r.error?.message, 'enqueue expects a JSON array of jobs');
    assert.equal(r.data, null);

    const bad = await service.rpc('claim', { p_worker: 'w', p_limit: 'many', p_lease_seconds: 30 });
    assert.equal(bad.error?.code, '22P02');

    const raised = await service.rpc('pgrst_insert_then_raise', { p_k: 41 });
    assert.equal(raised.status, 400);
    assert.equal(raised.error?.code, 'P0001');
    assert.equal(raised.error?.message, 'probe failed for 41');
    assert.equal(raised.error?.hint, 'on purpose');

    const custom = await service.rpc('pgrst_raise_custom');
    assert.equal(custom.status, 402);
    assert.deepEqual(custom.error, { code: '123', message: 'Payment Required', details: 'Quota exceeded', hint: 'Upgrade' });
  });

  test('one RPC is one transaction: settings are visible to the call, errors roll everything back', async () => {
    // set_config(..., true) is transaction-local: the call sees it only inside the same transaction.
    const who = await service.rpc('pgrst_whoami');
    assert.equal((who.data as { claims: { role: string } }).claims.role, 'service_role');

    // the function's insert is undone by the raise
    await service.rpc('pgrst_insert_then_raise', { p_k: 7 });
    // the duplicate only fails at COMMIT (deferred unique): reported as 23505 → 409
    const twice = await service.rpc('pgrst_insert_twice', { p_k: 8 });
    assert.equal(twice.status, 409);
    assert.equal(twice.error?.code, '23505');
    const left = await db`select count(*)::int as n from public.pgrst_probe`;
    assert.equal(left[0]!.n, 0);

    // a successful call is committed
    const ok = await service.rpc('pgrst_insert_then_raise', { p_k: 9, p_fail: false });
    assert.equal(ok.data, 9);
    const kept = await db`select k from public.pgrst_probe`;
    assert.deepEqual(kept.map((r) => r.k), [9]);

    // failed transactions must not poison the pooled connections: many errors, then work
    await Promise.all(Array.from({ length: 40 }, (_, i) => service.rpc('pgrst_insert_then_raise', { p_k: 100 + i })));
    const whos = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? anon : service).rpc('pgrst_whoami')));
    whos.forEach((w, i) => {
      assert.equal(w.error, null);
      const d = w.data as { user: string; read_only: string };
      assert.equal(d.user, i % 2 ? 'anon' : 'service_role');
      assert.equal(d.read_only, 'off');
    });
  });

  test('GET calls run read-only, like PostgREST', async () => {
    const stats = await service.rpc('stats', {}, { get: true });
    assert.equal(stats.error, null);
    assert.equal(typeof stats.data, 'object');
    const echo = await service.rpc('pgrst_echo', { p_ids: [4, 5] }, { get: true });
    assert.equal(echo.error, null);
    assert.deepEqual((echo.data as Array<{ ids: number[] }>)[0]!.ids, [4, 5]);
    const who = await service.rpc('pgrst_whoami', {}, { get: true });
    assert.equal((who.data as { read_only: string; method: string }).read_only, 'on');
    const write = await service.rpc('prune', {}, { get: true });
    assert.equal(write.status, 405);
    assert.equal(write.error?.code, '25006');
  });

  test('JWT checks: bad signature, expired, missing role claim, no key', async () => {
    const forged = client(srv.url, (await srv.sign({ role: 'service_role' })).replace(/.{4}$/, 'AAAA'));
    const r1 = await forged.rpc('stats');
    assert.equal(r1.status, 401);
    assert.equal(r1.error?.code, 'PGRST301');

    const expired = client(srv.url, await srv.sign({ role: 'service_role' }, Math.floor(Date.now() / 1000) - 60));
    const r2 = await expired.rpc('stats');
    assert.equal(r2.status, 401);
    assert.equal(r2.error?.code, 'PGRST301');
    assert.equal(r2.error?.message, 'JWT expired');

    const noRole = client(srv.url, await srv.sign({ sub: 'someone' }));
    const r3 = await noRole.rpc('pgrst_whoami');
    assert.equal((r3.data as { user: string }).user, 'anon');

    const r4 = await fetch(`${srv.url}/rest/v1/rpc/stats`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(r4.status, 401);
    await r4.text();

    const ghost = client(srv.url, await srv.sign({ role: 'no_such_role' }));
    const r5 = await ghost.rpc('stats');
    assert.equal(r5.status, 401);
    assert.equal(r5.error?.code, '22023');
  });

  test('concurrent claims never hand out a job twice', async () => {
    const jobs = Array.from({ length: 60 }, (_, i) => ({ kind: 'race', payload: { i } }));
    const enq = await service.rpc('enqueue', { p_jobs: jobs });
    assert.equal((enq.data as Job[]).length, 60);
    const before = srv.calls;
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => service.rpc('claim', { p_worker: `racer-${i}`, p_limit: 3, p_lease_seconds: 30 })),
    );
    assert.equal(srv.calls - before, 30);
    const ids = results.flatMap((r) => {
      assert.equal(r.error, null);
      return (r.data as Job[]).filter((j) => j.kind === 'race').map((j) => j.id);
    });
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(ids.length, 60);

    const counted = await service.rpc('pgrst_echo', { p_ids: [1] }, { count: 'exact' });
    assert.equal(counted.count, 1);
  });

  test('survives its Postgres connections being killed, idle or mid-call', async () => {
    let killed = 0;
    let closedBefore = 0;
    const kill = async () => {
      closedBefore = srv.closedConnections;
      const rows = await db`
        select pg_terminate_backend(pid) as ok from pg_stat_activity
        where datname = ${dbName} and application_name = 'postgrest-test-server'`;
      killed = rows.length;
      return rows;
    };
    // Killed while idle: once the backends are gone and the pool has seen their sockets
    // close, nobody notices.
    const gone = async () => {
      for (let i = 0; i < 200; i++) {
        const [{ n }] = await db`select count(*)::int as n from pg_stat_activity
          where datname = ${dbName} and application_name = 'postgrest-test-server'`;
        if (n === 0) break;
        await sleep(10);
      }
      await waitFor(async () => srv.closedConnections >= closedBefore + killed, 10_000, 'the pool to see its connections close', 10);
    };
    await Promise.all(Array.from({ length: 10 }, () => service.rpc('stats')));
    assert.ok((await kill()).length > 0);
    await gone();
    for (const r of await Promise.all(Array.from({ length: 20 }, () => service.rpc('stats')))) assert.equal(r.error, null);

    // mid-call: the caller gets a 503 (the transaction may or may not have committed,
    // exactly as with PostgREST), and the pool recovers without further errors.
    const inflight = Promise.all(Array.from({ length: 3 }, () => service.rpc('pgrst_sleep', { p_ms: 5000 })));
    for (let i = 0; i < 100; i++) {
      const [{ n }] = await db`select count(*)::int as n from pg_stat_activity
        where datname = ${dbName} and query like '%pgrst_sleep%' and state = 'active' and pid <> pg_backend_pid()`;
      if (n === 3) break;
      await sleep(20);
    }
    await kill();
    await gone();
    for (const r of await inflight) {
      assert.equal(r.status, 503);
      assert.ok(r.error?.code === 'PGRST000' || r.error?.code === '57P01', r.error?.code);
    }
    for (const r of await Promise.all(Array.from({ length: 20 }, () => service.rpc('pgrst_sleep', { p_ms: 1 })))) {
      assert.equal(r.error, null);
      assert.equal(r.data, 1);
    }
  });

  test('unreachable database → 503 PGRST000', async () => {
    const down = await startPostgrest({ databaseUrl: 'postgres://root@127.0.0.1:1/postgres', jwtSecret: srv.jwtSecret });
    try {
      const r = await client(down.url, down.serviceRoleKey).rpc('stats');
      assert.equal(r.status, 503);
      assert.equal(r.error?.code, 'PGRST000');
    } finally {
      await down.close();
    }
  });
});
