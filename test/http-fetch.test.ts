// keepAliveFetch (src/db/http-fetch.ts), the RPC adapters' fetch: standard Responses,
// connection reuse, timeouts and aborts, against a real local HTTP server.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { keepAliveFetch } from '../src/db/http-fetch.ts';

let base = '';
const sockets = new Set<unknown>();
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  sockets.add(req.socket);
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.url === '/hang') return; // never answers
    if (req.url === '/empty') { res.writeHead(204); res.end(); return; }
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json', 'x-echo-method': req.method!, 'set-cookie': ['a=1', 'b=2'] });
    res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization ?? null, body }));
  });
});

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('POST with headers and a JSON body gives a standard Response; sequential calls share one connection', async () => {
  const f = keepAliveFetch(5_000);
  sockets.clear();
  for (let i = 0; i < 5; i++) {
    const res = await f(`${base}/rpc/x`, { method: 'POST', headers: { Authorization: 'Bearer k', 'Content-Type': 'application/json' }, body: JSON.stringify({ i }) });
    assert.equal(res.status, 200);
    assert.equal(res.ok, true);
    assert.equal(res.headers.get('x-echo-method'), 'POST');
    assert.deepEqual(await res.json(), { method: 'POST', auth: 'Bearer k', body: JSON.stringify({ i }) });
  }
  assert.equal(sockets.size, 1, 'keep-alive: one TCP connection for five calls');
});

test('error statuses and empty bodies come through as they are', async () => {
  const f = keepAliveFetch(5_000);
  const missing = await f(`${base}/missing`);
  assert.equal(missing.status, 404);
  assert.equal(missing.ok, false);
  assert.equal((await missing.json()).method, 'GET');
  const empty = await f(`${base}/empty`, { method: 'DELETE' });
  assert.equal(empty.status, 204);
  assert.equal(await empty.text(), '');
});

test('a server that never answers fails with TimeoutError after the timeout', async () => {
  const f = keepAliveFetch(300);
  const t0 = Date.now();
  await assert.rejects(f(`${base}/hang`), (e: Error) => e.name === 'TimeoutError');
  const took = Date.now() - t0;
  assert.ok(took >= 280 && took < 3_000, `took ${took} ms`);
});

test("the caller's AbortSignal cancels the call", async () => {
  const f = keepAliveFetch(10_000);
  const ac = new AbortController();
  const p = f(`${base}/hang`, { signal: ac.signal });
  setTimeout(() => ac.abort(new Error('caller gave up')), 100);
  await assert.rejects(p, /caller gave up/);
  await assert.rejects(f(`${base}/rpc/x`, { signal: AbortSignal.abort(new Error('already')) }), /already/);
});

test('a refused connection rejects (nothing listening)', async () => {
  const f = keepAliveFetch(5_000);
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  await assert.rejects(f(`http://127.0.0.1:${port}/x`), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
});
