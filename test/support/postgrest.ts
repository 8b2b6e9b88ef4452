// A PostgREST-compatible test server for the RPC surface that supabase-js uses:
// `supabase.rpc(fn, args)` → POST /rest/v1/rpc/<fn>. Supabase's HTTP layer cannot run
// here, so this executes each call on real Postgres the way PostgREST v12 does:
//
//   * auth like the Supabase gateway + PostgREST: `apikey` and/or `Authorization: Bearer`
//     HS256 JWTs; the `role` claim picks the Postgres role (no JWT → anon);
//   * one transaction per call: [set transaction read only;] set_config('role'|
//     'request.jwt.claims'|'search_path'|'request.*', …, true); the call — committed
//     together, or rolled back together on any error;
//   * functions resolved by name + argument names from pg_catalog (cached), called with
//     named notation through `json_to_record(<body>)`, so JSON → SQL conversion (arrays,
//     jsonb, enums, defaults for omitted arguments) is Postgres's own, as in PostgREST;
//   * PostgREST's response shapes (set → array, scalar → value, void → 204) and error
//     JSON/status mapping (SQLSTATE → HTTP, PGRST2xx/3xx codes).
//
// Efficiency: the whole transaction is ONE simple-protocol message (an implicit
// transaction: no BEGIN/COMMIT needed), i.e. one round trip per RPC on a postgres.js
// pool that may pipeline; the routine signatures and the generated SQL are cached.
import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';

export interface PostgrestOptions {
  /** Postgres URL of a role allowed to SET ROLE to anon/authenticated/service_role (e.g. a superuser). */
  databaseUrl: string;
  /** HS256 secret for the JWTs; random when omitted. */
  jwtSecret?: string;
  /** Exposed schema (PostgREST db-schemas); default 'public'. */
  schema?: string;
  /** Port on 127.0.0.1; default 0 (random). Several processes may share one under node:cluster. */
  port?: number;
  /** Database connections of this server's pool (PostgREST's db-pool); default 10. */
  poolSize?: number;
  /**
   * Fault injection (the chaos run): when it answers true for a call whose transaction has
   * committed, the connection is reset instead of answered, so the caller cannot tell
   * whether its call took effect.
   */
  loseResponse?: (fn: string, response: string | null) => boolean;
}

export interface PostgrestServer {
  /** Base URL for createClient(url, key): the REST API is at `${url}/rest/v1`. */
  url: string;
  anonKey: string;
  serviceRoleKey: string;
  authenticatedKey: string;
  jwtSecret: string;
  /** Number of RPC requests received so far. */
  readonly calls: number;
  /** Pool connections seen closing so far (e.g. their backend was terminated). */
  readonly closedConnections: number;
  /** Committed calls whose response loseResponse() threw away, by function. */
  readonly lostResponses: Record<string, number>;
  /** Sign arbitrary claims with the server's secret (HS256). */
  sign(claims: JWTPayload, expiresIn?: string | number): Promise<string>;
  close(): Promise<void>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface PgrstErrorBody {
  code: string | null;
  message: string;
  details: string | null;
  hint: string | null;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: PgrstErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
  }
}

interface RoutineParam {
  name: string;
  type: string;
  variadic: boolean;
  required: boolean;
}

interface Routine {
  schema: string;
  name: string;
  params: RoutineParam[];
  volatile: boolean;
  setof: boolean;
  composite: boolean;
  void: boolean;
}

interface CallPlan {
  routine: Routine;
  /** SQL = pre + E'<body>' + post when usesBody; otherwise just pre. */
  pre: string;
  post: string;
  usesBody: boolean;
  readOnly: boolean;
}

interface RawRoutine {
  name: string;
  volatility: string;
  retset: boolean;
  ndefaults: number;
  void: boolean;
  composite: boolean;
  argnames: string[] | null;
  argmodes: string[] | null;
  argtypes: string[];
}

const JSON_CT = 'application/json; charset=utf-8';
const MAX_BODY = 64 * 1024 * 1024;
const RESERVED_QUERY_PARAMS = new Set(['select', 'order', 'limit', 'offset', 'columns', 'on_conflict', 'and', 'or']);

/** Postgres string literal that is correct whatever standard_conforming_strings says. */
function lit(s: string): string {
  if (s.includes('\0')) throw badRequest('PGRST102', 'Invalid body: NUL character in input');
  return "E'" + s.replace(/\\/g, '\\\\').replace(/'/g, "''") + "'";
}

function ident(s: string): string {
  return '"' + s.replace(/"/g, '""') + '"';
}

function badRequest(code: string, message: string, details: string | null = null): HttpError {
  return new HttpError(400, { code, message, details, hint: null });
}

function jwtError(message: string): HttpError {
  return new HttpError(
    401,
    { code: 'PGRST301', message, details: null, hint: null },
    { 'WWW-Authenticate': `Bearer error="invalid_token", error_description=${JSON.stringify(message)}` },
  );
}

/** PostgREST v12's SQLSTATE → HTTP status mapping (src/PostgREST/Error.hs). */
export function statusForSqlState(code: string, message: string, authed: boolean): number {
  if (code.startsWith('08')) return 503;
  if (code.startsWith('09')) return 500;
  if (code.startsWith('0L') || code.startsWith('0P')) return 403;
  switch (code) {
    case '23503':
    case '23505':
      return 409;
    case '25006':
      return 405;
    case '21000':
      return message.endsWith('requires a WHERE clause') ? 400 : 500;
    case '22023':
      return message.startsWith('role') && message.endsWith('does not exist') ? 401 : 400;
    case '53400':
      return 500;
    case '57P01':
      return 503;
    case 'P0001':
      return 400;
    case '42883':
      return 404;
    case '42P01':
      return 404;
    case '42P17':
      return 500;
    case '42501':
      return authed ? 403 : 401;
  }
  const two = code.slice(0, 2);
  if (['25', '2D', '38', '39', '3B', '40', '54', '55', '57', '58', 'F0', 'HV', 'P0', 'XX'].includes(two)) return 500;
  if (two === '28') return 403;
  if (two === '53') return 503;
  if (two === 'PT') {
    const n = Number(code.slice(2));
    return Number.isInteger(n) && n >= 100 && n <= 599 ? n : 500;
  }
  return 400;
}

const CONNECTION_ERROR_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

function isPostgresError(e: unknown): e is postgres.PostgresError {
  return e instanceof postgres.PostgresError;
}

function toHttpError(e: unknown, authed: boolean): HttpError {
  if (e instanceof HttpError) return e;
  if (isPostgresError(e)) {
    if (e.code === 'PGRST') return raisePgrst(e);
    const status = statusForSqlState(e.code, e.message, authed);
    const headers: Record<string, string> = status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {};
    return new HttpError(
      status,
      { code: e.code, message: e.message, details: e.detail ?? null, hint: e.hint ?? null },
      headers,
    );
  }
  const err = e as { code?: string; message?: string } | undefined;
  if (err && typeof err.code === 'string' && (CONNECTION_ERROR_CODES.has(err.code) || /^E[A-Z]+$/.test(err.code))) {
    return new HttpError(503, {
      code: 'PGRST000',
      message: 'Database connection error. Retrying the connection.',
      details: String(err.message ?? err.code),
      hint: null,
    });
  }
  return new HttpError(500, {
    code: 'PGRSTX00',
    message: 'Internal error in the PostgREST test server',
    details: String((e as Error)?.stack ?? e),
    hint: null,
  });
}

/** RAISE SQLSTATE 'PGRST' USING message = '{"code":..,"message":..}', detail = '{"status":..,"headers":{..}}'. */
function raisePgrst(e: postgres.PostgresError): HttpError {
  const parseErr = (details: string, hint: string) =>
    new HttpError(500, { code: 'PGRST121', message: `Could not parse JSON in the "RAISE SQLSTATE 'PGRST'" error`, details, hint });
  let msg: { code?: unknown; message?: unknown; details?: unknown; hint?: unknown };
  try {
    msg = JSON.parse(e.message);
    if (!msg || typeof msg !== 'object' || typeof msg.code !== 'string' || typeof msg.message !== 'string') throw new Error();
  } catch {
    return parseErr(
      `Invalid JSON value for MESSAGE: '${e.message}'`,
      "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: 'details', 'hint'.",
    );
  }
  if (e.detail === undefined) {
    return parseErr(
      'DETAIL is missing in the RAISE statement',
      "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'.",
    );
  }
  let det: { status?: unknown; headers?: unknown };
  try {
    det = JSON.parse(e.detail);
    if (!det || typeof det.status !== 'number' || typeof det.headers !== 'object' || det.headers === null) throw new Error();
  } catch {
    return parseErr(
      `Invalid JSON value for DETAIL: '${e.detail}'`,
      "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'.",
    );
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(det.headers as Record<string, unknown>)) headers[k] = String(v);
  return new HttpError(
    det.status as number,
    {
      code: msg.code as string,
      message: msg.message as string,
      details: typeof msg.details === 'string' ? msg.details : null,
      hint: typeof msg.hint === 'string' ? msg.hint : null,
    },
    headers,
  );
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

function jwtMessage(e: unknown, token: string): string {
  if (e instanceof joseErrors.JWTExpired) return 'JWT expired';
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.claim === 'nbf') return 'JWT not yet valid';
    if (e.claim === 'iat') return 'JWT issued at future';
    if (e.claim === 'aud') return 'JWT not in audience';
    return 'JWT claims validation failed';
  }
  const parts = token.split('.').length;
  if (parts !== 3) return `JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got ${parts})`;
  if (e instanceof joseErrors.JOSEAlgNotAllowed || e instanceof joseErrors.JOSENotSupported) {
    return 'JWSError JWSNoValidSignature';
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'JWSError JWSInvalidSignature';
  return 'JWSError JWSInvalidSignature';
}

export async function startPostgrest(options: PostgrestOptions): Promise<PostgrestServer> {
  const schema = options.schema ?? 'public';
  const anonRole = 'anon'; // PostgREST's db-anon-role for requests without a role claim
  const jwtSecret = options.jwtSecret ?? randomBytes(32).toString('hex');
  const key = new TextEncoder().encode(jwtSecret);
  const searchPath = [schema, 'public', 'extensions']
    .filter((s, i, a) => a.indexOf(s) === i)
    .map(ident)
    .join(', ');

  const sql = postgres(options.databaseUrl, {
    max: options.poolSize ?? 10,
    prepare: false,
    // Results are text/int only. (Also: postgres.js's type fetch on connect can throw an
    // unhandled rejection when the backend is killed mid-setup.)
    fetch_types: false,
    onnotice: () => {},
    onclose: () => { closedConnections++; },
    connection: { application_name: 'postgrest-test-server' },
  });
  let closedConnections = 0;

  const sign = (claims: JWTPayload, expiresIn: string | number = '10y') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime(expiresIn).sign(key);

  const [anonKey, serviceRoleKey, authenticatedKey] = await Promise.all([
    sign({ iss: 'supabase-demo', role: 'anon' }),
    sign({ iss: 'supabase-demo', role: 'service_role' }),
    sign({ iss: 'supabase-demo', role: 'authenticated', aud: 'authenticated', sub: randomUUID() }),
  ]);

  // ---------------------------------------------------------------- auth

  const verified = new Map<string, JWTPayload>();
  async function verify(token: string): Promise<JWTPayload> {
    const hit = verified.get(token);
    if (hit && (typeof hit.exp !== 'number' || hit.exp * 1000 > Date.now())) return hit;
    if (hit) verified.delete(token);
    if (token === '') throw jwtError('Empty JWT is sent in Authorization header');
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, key, { algorithms: ['HS256', 'HS384', 'HS512'] }));
    } catch (e) {
      throw jwtError(jwtMessage(e, token));
    }
    if (verified.size >= 1000) verified.clear();
    verified.set(token, claims);
    return claims;
  }

  /** Gateway (apikey) then PostgREST (Bearer) authentication; returns the role and claims. */
  async function authenticate(req: http.IncomingMessage): Promise<{ role: string; claims: JWTPayload }> {
    const apikey = req.headers.apikey;
    const authz = req.headers.authorization;
    const bearer = typeof authz === 'string' && /^bearer /i.test(authz) ? authz.slice(7).trim() : undefined;
    if (typeof apikey !== 'string' && bearer === undefined) {
      throw new HttpError(
        401,
        { code: 'PGRST302', message: 'No API key found in request', details: null, hint: 'No `apikey` request header or url param was found.' },
        { 'WWW-Authenticate': 'Bearer' },
      );
    }
    if (typeof apikey === 'string' && apikey !== bearer) {
      try {
        await verify(apikey);
      } catch {
        throw new HttpError(401, {
          code: 'PGRST301',
          message: 'Invalid API key',
          details: null,
          hint: 'Double check your Supabase `anon` or `service_role` API key.',
        });
      }
    }
    const token = bearer ?? (apikey as string);
    const claims = await verify(token);
    const role = typeof claims.role === 'string' && claims.role !== '' ? claims.role : anonRole;
    return { role, claims };
  }

  // ---------------------------------------------------------------- schema cache

  const routines = new Map<string, Routine[]>();
  const plans = new Map<string, CallPlan>();

  async function loadRoutines(name: string): Promise<Routine[]> {
    const cached = routines.get(name);
    if (cached) return cached;
    // format_type with search_path = pg_catalog qualifies every non-catalog type
    // (set_config(.., true) lasts for this one-message implicit transaction).
    const rows = (await sql.unsafe(
      `select pg_catalog.set_config('search_path', 'pg_catalog', true);
       select coalesce(json_agg(r), '[]')::text as list from (
         select p.proname as name, p.provolatile as volatility, p.proretset as retset,
                p.pronargdefaults as ndefaults,
                p.prorettype = 'pg_catalog.void'::pg_catalog.regtype as void,
                (rt.typtype = 'c' or (p.prorettype = 'pg_catalog.record'::pg_catalog.regtype
                                      and p.proallargtypes is not null)) as composite,
                p.proargnames as argnames, p.proargmodes as argmodes,
                array(select pg_catalog.format_type(t, null)
                        from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality u(t, o)
                       order by o) as argtypes
           from pg_catalog.pg_proc p
           join pg_catalog.pg_namespace n on n.oid = p.pronamespace
           join pg_catalog.pg_type rt on rt.oid = p.prorettype
          where n.nspname = ${lit(schema)} and p.proname = ${lit(name)} and p.prokind = 'f'
          order by p.oid) r`,
    )) as unknown as Array<Array<{ list?: string }>>;
    const list0 = rows.find((r) => r[0] !== undefined && 'list' in r[0]!)?.[0]?.list ?? '[]';
    const raw = JSON.parse(list0) as RawRoutine[];
    const list = raw.map((r): Routine => {
      const ins: RoutineParam[] = [];
      r.argtypes.forEach((type, i) => {
        const mode = r.argmodes?.[i] ?? 'i';
        if (mode === 'i' || mode === 'b' || mode === 'v') {
          ins.push({ name: r.argnames?.[i] ?? '', type, variadic: mode === 'v', required: true });
        }
      });
      ins.forEach((p, i) => (p.required = i < ins.length - r.ndefaults));
      return {
        schema,
        name: r.name,
        params: ins,
        volatile: r.volatility === 'v',
        setof: r.retset,
        composite: r.composite,
        void: r.void,
      };
    });
    // Do not cache misses: a function created later is found without a reload.
    if (list.length > 0) routines.set(name, list);
    return list;
  }

  function noRpc(name: string, keys: string[], overloads: Routine[]): HttpError {
    const func = `${schema}.${name}`;
    const prms = keys.join(', ');
    const message = `Could not find the function ${func}${keys.length ? `(${prms})` : ' without parameters'} in the schema cache`;
    const details =
      `Searched for the function ${func}` +
      (keys.length ? ` with parameter${keys.length > 1 ? 's' : ''} ${prms}` : ' without parameters') +
      ' or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.';
    const first = overloads.find((r) => r.params.every((p) => p.name !== ''));
    const hint = first
      ? `Perhaps you meant to call the function ${func}(${first.params.map((p) => p.name).sort().join(', ')})`
      : null;
    return new HttpError(404, { code: 'PGRST202', message, details, hint });
  }

  interface Shape {
    singular: boolean;
    stripNulls: boolean;
    /** `?select=a,b` on a function returning rows: only these columns (plain names only). */
    columns: string[] | null;
  }

  function buildPlan(r: Routine, keys: string[] | null, shape: Shape, readOnlyMethod: boolean): CallPlan {
    const fn = `${ident(r.schema)}.${ident(r.name)}`;
    const scalar = !r.composite;
    const callIt = (args: string) => (scalar ? `(select ${fn}(${args}) pgrst_scalar) pgrst_call` : `${fn}(${args}) pgrst_call`);
    let pre: string;
    let post = '';
    let usesBody = true;
    const sel = scalar ? 'pgrst_call.pgrst_scalar'
      : shape.columns ? shape.columns.map((c) => `pgrst_call.${ident(c)}`).join(', ') : 'pgrst_call.*';
    const row = scalar ? '_postgrest_t.pgrst_scalar' : '_postgrest_t';
    let agg: string;
    const strip = (j: string) => (shape.stripNulls ? `pg_catalog.json_strip_nulls(${j})` : j);
    if (r.void) agg = `pg_catalog.count(${row})::text`;
    else if (r.setof && !shape.singular) agg = strip(`coalesce(pg_catalog.json_agg(${row}), '[]')`) + '::text';
    else agg = strip(`coalesce(pg_catalog.json_agg(${row})->0, 'null')`) + '::text';
    const head = `select ${agg} as body, pg_catalog.count(*)::int as n from (select ${sel} from `;
    const tail = ') _postgrest_t';
    if (keys === null) {
      // single unnamed json/jsonb parameter: the whole body is the argument
      const p = r.params[0]!;
      pre = head + (scalar ? `(select ${fn}(` : `${fn}(`);
      post = `::${p.type}` + (scalar ? ') pgrst_scalar) pgrst_call' : ') pgrst_call') + tail;
    } else if (keys.length === 0) {
      pre = head + callIt('') + tail;
      usesBody = false;
    } else {
      const byName = new Map(r.params.map((p) => [p.name, p]));
      const cols = keys.map((k) => `${ident(k)} ${byName.get(k)!.type}`).join(', ');
      const args = keys.map((k) => `${byName.get(k)!.variadic ? 'VARIADIC ' : ''}${ident(k)} := pgrst_body.${ident(k)}`).join(', ');
      pre = head + 'pg_catalog.json_to_record(';
      post = `::json) as pgrst_body(${cols}), lateral ${callIt(args)}` + tail;
    }
    return { routine: r, pre, post, usesBody, readOnly: readOnlyMethod || !r.volatile };
  }

  async function resolve(name: string, body: Json, method: string, shape: Shape): Promise<CallPlan> {
    const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
    const keys = isObject ? Object.keys(body).sort() : [];
    const readOnlyMethod = method !== 'POST';
    const cacheKey = `${name}\0${isObject ? keys.join('\0') : '\u0001'}\0${readOnlyMethod}\0${shape.singular}\0${shape.stripNulls}\0${shape.columns?.join(',') ?? '*'}`;
    const hit = plans.get(cacheKey);
    if (hit && routines.has(name)) return hit;

    const overloads = await loadRoutines(name);
    let matches: Routine[] = [];
    if (isObject) {
      const keySet = new Set(keys);
      matches = overloads.filter(
        (r) =>
          r.params.every((p) => p.name !== '') &&
          keys.every((k) => r.params.some((p) => p.name === k)) &&
          r.params.every((p) => !p.required || keySet.has(p.name)),
      );
    }
    let plan: CallPlan;
    if (matches.length > 1) {
      throw new HttpError(300, {
        code: 'PGRST203',
        message:
          'Could not choose the best candidate function between: ' +
          matches.map((r) => `${schema}.${name}(${r.params.map((p) => `${p.name} => ${p.type}`).join(', ')})`).join(', '),
        details: null,
        hint: 'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
      });
    } else if (matches.length === 1) {
      plan = buildPlan(matches[0]!, keys, shape, readOnlyMethod);
    } else {
      const single =
        method === 'POST'
          ? overloads.filter((r) => r.params.length === 1 && r.params[0]!.name === '' && /^json(b)?$/.test(r.params[0]!.type))
          : [];
      if (single.length !== 1) throw noRpc(name, keys, overloads);
      plan = buildPlan(single[0]!, null, shape, readOnlyMethod);
    }
    if (plans.size > 10000) plans.clear();
    plans.set(cacheKey, plan);
    return plan;
  }

  // ---------------------------------------------------------------- execution

  async function execute(plan: CallPlan, bodyText: string, settings: string): Promise<{ body: string | null; n: number }> {
    // One simple-protocol message without BEGIN is one implicit transaction: every
    // statement in it commits together or, on any error (also a deferred constraint
    // failing at the implicit COMMIT), rolls back together, and the connection is idle
    // again either way, so postgres.js may pipeline other requests behind it safely.
    const text =
      (plan.readOnly ? 'set transaction read only; ' : '') +
      settings +
      '; ' +
      (plan.usesBody ? plan.pre + lit(bodyText) + plan.post : plan.pre);
    for (let attempt = 1; ; attempt++) {
      try {
        const results = (await sql.unsafe(text)) as unknown as Array<Array<Record<string, unknown>>>;
        const res = results.find((r) => Array.isArray(r) && r[0] !== undefined && 'body' in r[0]!);
        if (!res) throw new Error('RPC query returned no result row');
        return { body: res[0]!.body as string | null, n: res[0]!.n as number };
      } catch (e) {
        // postgres.js 3.4 delivers a FATAL error to a query only when that query was never
        // sent: the backend died while the connection was (re)connecting, or the FATAL of a
        // backend killed mid-query is replayed to the first query after the reconnect.
        // (A query that was in flight when its backend died fails with CONNECTION_CLOSED,
        // not retried: it may have committed.) Safe, so retry on a fresh connection.
        if (isPostgresError(e) && (e.severity === 'FATAL' || e.severity === 'PANIC') && attempt < 3) continue;
        if (isPostgresError(e) && (e.code === '42883' || e.code === '42804' || e.code === '0A000')) {
          // the function changed under the cache
          routines.delete(plan.routine.name);
        }
        throw e;
      }
    }
  }

  // ---------------------------------------------------------------- HTTP

  let calls = 0;

  function send(res: http.ServerResponse, status: number, body: string | null, headers: Record<string, string>, head: boolean) {
    if (body !== null) headers['Content-Length'] = String(Buffer.byteLength(body));
    res.writeHead(status, headers);
    res.end(head || body === null ? undefined : body);
  }

  function sendError(res: http.ServerResponse, err: HttpError, head: boolean, cors: Record<string, string>) {
    const body = JSON.stringify({ code: err.body.code, details: err.body.details, hint: err.body.hint, message: err.body.message });
    send(
      res,
      err.status,
      body,
      { 'Content-Type': JSON_CT, ...(err.body.code ? { 'Proxy-Status': `PostgREST; error=${err.body.code}` } : {}), ...err.headers, ...cors },
      head,
    );
  }

  function readBody(req: http.IncomingMessage): Promise<string> {
    return new Promise((resolveBody, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          reject(new HttpError(413, { code: 'PGRST102', message: 'Request body too large', details: null, hint: null }));
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  // PostgREST's select grammar also has renames, casts and embeds; a column list is all we use.
  function selectColumns(select: string | null): string[] | null {
    if (select === null || select.trim() === '' || select.trim() === '*') return null;
    const cols = select.split(',').map((c) => c.trim());
    const bad = cols.find((c) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(c));
    if (bad !== undefined) throw badRequest('PGRST100', `"failed to parse select parameter (${select})"`, `unexpected "${bad}"`);
    return cols;
  }

  function mediaShape(accept: string | undefined): Shape {
    if (!accept) return { singular: false, stripNulls: false, columns: null };
    let ok = false;
    let singular = false;
    let stripNulls = false;
    for (const raw of accept.split(',')) {
      const [type, ...params] = raw.split(';').map((s) => s.trim().toLowerCase());
      const nulls = params.includes('nulls=stripped');
      if (type === '*/*' || type === 'application/*' || type === 'application/json' || type === 'application/vnd.pgrst.array+json' || type === 'application/vnd.pgrst.array') {
        ok = true;
        stripNulls = nulls;
        break;
      }
      if (type === 'application/vnd.pgrst.object+json' || type === 'application/vnd.pgrst.object') {
        ok = true;
        singular = true;
        stripNulls = nulls;
        break;
      }
    }
    if (!ok) {
      throw new HttpError(406, {
        code: 'PGRST107',
        message: `None of these media types are available: ${accept.split(',').map((s) => s.trim()).join(', ')}`,
        details: null,
        hint: null,
      });
    }
    return { singular, stripNulls, columns: null };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const origin = req.headers.origin;
    const cors: Record<string, string> = origin ? { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Content-Range, Content-Location' } : {};
    let role = anonRole;
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const path = url.pathname;
      if (method === 'OPTIONS') {
        res.writeHead(200, {
          'Access-Control-Allow-Origin': '*',
          'Access-Control-Allow-Methods': 'GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD',
          'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? 'authorization, apikey, content-type, prefer, accept, accept-profile, content-profile, x-client-info',
          'Access-Control-Max-Age': '86400',
        });
        res.end();
        return;
      }
      if (path === '/rest/v1' || path === '/rest/v1/') {
        if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, { code: 'PGRST117', message: `Unsupported HTTP method: ${method}`, details: null, hint: null });
        send(res, 200, JSON.stringify({ swagger: '2.0', info: { title: 'PostgREST test server', version: '12' }, paths: {} }), { 'Content-Type': 'application/openapi+json; charset=utf-8', ...cors }, head);
        return;
      }
      const m = /^\/rest\/v1\/rpc\/([^/]+)\/?$/.exec(path);
      if (!m) {
        throw new HttpError(404, {
          code: 'PGRST125',
          message: 'Invalid path specified in request URL',
          details: 'This test server only implements /rest/v1/rpc/<function>',
          hint: null,
        });
      }
      calls++;
      const name = decodeURIComponent(m[1]!);
      if (method !== 'POST' && method !== 'GET' && method !== 'HEAD') {
        throw new HttpError(405, { code: 'PGRST101', message: `Cannot use the ${method} method on RPC`, details: null, hint: null });
      }
      const auth = await authenticate(req);
      role = auth.role;

      const profile = (method === 'POST' ? req.headers['content-profile'] : req.headers['accept-profile']) as string | undefined;
      if (profile !== undefined && profile !== schema) {
        throw new HttpError(406, { code: 'PGRST106', message: `Invalid schema: ${profile}`, details: null, hint: `Only the following schemas are exposed: ${schema}` });
      }
      const shape = mediaShape(req.headers.accept);
      shape.columns = selectColumns(url.searchParams.get('select'));

      let bodyText: string;
      let body: Json;
      if (method === 'POST') {
        bodyText = await readBody(req);
        if (bodyText.trim() === '') bodyText = '{}';
        try {
          body = JSON.parse(bodyText) as Json;
        } catch (e) {
          throw badRequest('PGRST102', 'Empty or invalid json', String((e as Error).message));
        }
      } else {
        const obj: Record<string, string> = {};
        for (const [k, v] of url.searchParams) if (!RESERVED_QUERY_PARAMS.has(k)) obj[k] = v;
        body = obj;
        bodyText = JSON.stringify(obj);
      }
      if (name.includes('\0')) throw noRpc(name, [], []);

      const plan = await resolve(name, body, method, shape);
      const headers: Record<string, string | string[]> = { ...req.headers } as Record<string, string | string[]>;
      const settings =
        'select ' +
        [
          `pg_catalog.set_config('search_path', ${lit(searchPath)}, true)`,
          `pg_catalog.set_config('role', ${lit(role)}, true)`,
          `pg_catalog.set_config('request.jwt.claims', ${lit(JSON.stringify(auth.claims))}, true)`,
          `pg_catalog.set_config('request.method', ${lit(method)}, true)`,
          `pg_catalog.set_config('request.path', ${lit(path)}, true)`,
          `pg_catalog.set_config('request.headers', ${lit(JSON.stringify(headers))}, true)`,
          `pg_catalog.set_config('request.cookies', ${lit(JSON.stringify(parseCookies(req.headers.cookie)))}, true)`,
        ].join(', ');

      const out = await execute(plan, bodyText, settings);
      if (options.loseResponse?.(name, out.body)) {
        lostResponses[name] = (lostResponses[name] ?? 0) + 1;
        req.socket.resetAndDestroy();
        return;
      }
      const r = plan.routine;
      if (r.void) {
        res.writeHead(204, cors);
        res.end();
        return;
      }
      if (shape.singular && r.setof && out.n !== 1) {
        throw new HttpError(406, {
          code: 'PGRST116',
          message: 'JSON object requested, multiple (or no) rows returned',
          details: `The result contains ${out.n} rows`,
          hint: null,
        });
      }
      const headersOut: Record<string, string> = { 'Content-Type': JSON_CT, ...cors };
      if (r.setof) {
        // Prefer: count=exact|planned|estimated → the total is the function's row count
        const counted = /\bcount=(exact|planned|estimated)\b/.test(String(req.headers.prefer ?? ''));
        const total = counted ? String(out.n) : '*';
        headersOut['Content-Range'] = out.n > 0 ? `0-${out.n - 1}/${total}` : `*/${total}`;
      }
      send(res, 200, out.body ?? 'null', headersOut, head);
    } catch (e) {
      const err = toHttpError(e, role !== anonRole);
      if (!res.headersSent) sendError(res, err, head, cors);
      else res.destroy();
    }
  }

  const server = http.createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;

  const lostResponses: Record<string, number> = {};
  let closing: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}`,
    anonKey,
    serviceRoleKey,
    authenticatedKey,
    jwtSecret,
    get closedConnections() {
      return closedConnections;
    },
    lostResponses,
    get calls() {
      return calls;
    },
    sign,
    close() {
      closing ??= (async () => {
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
        await sql.end({ timeout: 5 });
      })();
      return closing;
    },
  };
}
