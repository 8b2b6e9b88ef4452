// A small faithful fake of the Supabase Storage REST endpoints the API uses: create
// bucket, upload object (x-upsert), create signed URL, download by signed URL, delete
// objects. Requests other than the signed download must carry the service key.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface FakeStorage {
  url: string;
  objects: Map<string, { body: Buffer; contentType: string }>;
  buckets: Map<string, { public: boolean }>;
  requests: string[];
  close(): Promise<void>;
}

const read = (req: IncomingMessage) => new Promise<Buffer>((res, rej) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c)).on('end', () => res(Buffer.concat(chunks))).on('error', rej);
});

export async function startFakeStorage(serviceKey: string): Promise<FakeStorage> {
  const objects = new Map<string, { body: Buffer; contentType: string }>();
  const buckets = new Map<string, { public: boolean }>();
  const requests: string[] = [];
  const sign = (path: string, exp: number) => createHmac('sha256', 'fake-jwt-secret').update(`${path}:${exp}`).digest('hex') + `.${exp}`;

  const server: Server = createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${u.pathname}`);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const fail = (status: number, code: string, message: string) =>
      send(status === 409 ? 400 : status, { statusCode: String(status), error: code, message });
    const body = await read(req);
    const p = u.pathname;

    let m = /^\/storage\/v1\/object\/sign\/([^/]+)\/(.+)$/.exec(p);
    if (req.method === 'GET' && m) {
      const key = `${m[1]}/${decodeURIComponent(m[2])}`;
      const token = u.searchParams.get('token') ?? '';
      const exp = Number(token.split('.')[1]);
      if (token !== sign(key, exp) || exp < Date.now() / 1000) return fail(400, 'InvalidJWT', 'invalid signature');
      const o = objects.get(key);
      if (!o) return fail(404, 'not_found', 'Object not found');
      res.writeHead(200, { 'content-type': o.contentType, 'content-length': o.body.length }).end(o.body);
      return;
    }
    if (req.headers.authorization !== `Bearer ${serviceKey}` || req.headers.apikey !== serviceKey) {
      return fail(403, 'Unauthorized', 'invalid key');
    }
    if (req.method === 'POST' && p === '/storage/v1/bucket') {
      const b = JSON.parse(body.toString()) as { name: string; public?: boolean };
      if (buckets.has(b.name)) return fail(409, 'Duplicate', 'The resource already exists');
      buckets.set(b.name, { public: b.public === true });
      return send(200, { name: b.name });
    }
    if (req.method === 'POST' && m) {
      const key = `${m[1]}/${decodeURIComponent(m[2])}`;
      if (!objects.has(key)) return fail(404, 'not_found', 'Object not found');
      const { expiresIn } = JSON.parse(body.toString()) as { expiresIn: number };
      const exp = Math.floor(Date.now() / 1000) + expiresIn;
      return send(200, { signedURL: `/object/sign/${m[1]}/${m[2]}?token=${sign(key, exp)}` });
    }
    m = /^\/storage\/v1\/object\/([^/]+)\/(.+)$/.exec(p);
    if (req.method === 'POST' && m) {
      if (!buckets.has(m[1])) return fail(404, 'Bucket not found', 'Bucket not found');
      const key = `${m[1]}/${decodeURIComponent(m[2])}`;
      if (objects.has(key) && req.headers['x-upsert'] !== 'true') return fail(409, 'Duplicate', 'The resource already exists');
      objects.set(key, { body, contentType: String(req.headers['content-type'] ?? 'application/octet-stream') });
      return send(200, { Key: key });
    }
    m = /^\/storage\/v1\/object\/([^/]+)$/.exec(p);
    if (req.method === 'DELETE' && m) {
      const { prefixes } = JSON.parse(body.toString()) as { prefixes: string[] };
      const gone = prefixes.filter((x) => objects.delete(`${m![1]}/${x}`));
      return send(200, gone.map((name) => ({ name })));
    }
    fail(404, 'not_found', `no route ${req.method} ${p}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`, objects, buckets, requests,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
