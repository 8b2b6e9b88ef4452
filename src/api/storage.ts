// Where finished cards are kept. The database (bytea in api_results) by default, so the
// embedded setup needs nothing; a private Supabase Storage bucket with signed URLs when
// SUPABASE_URL is set. Objects follow their cards: when a job is pruned, its card row
// goes by cascade, a trigger notes the object path, and sweep() removes it.
import type { ApiDb } from './db.ts';

export interface StoredCard { jpeg: Buffer; width: number; height: number }

export type ResultRef =
  | { kind: 'bytes'; jpeg: Buffer }
  | { kind: 'redirect'; url: string };

export interface ResultStore {
  readonly kind: 'db' | 'supabase';
  /** Stores the result of job `id` and records it on the card; returns the render count. */
  put(id: string, card: StoredCard): Promise<number | null>;
  /** The stored result, from the row api_card_result() returned. */
  open(row: { path: string | null; jpeg: Buffer | null }): Promise<ResultRef | null>;
  /** Removes objects of deleted cards (Storage only). */
  sweep(): Promise<number>;
  init?(): Promise<void>;
}

export class DbResultStore implements ResultStore {
  readonly kind = 'db' as const;
  constructor(private readonly db: ApiDb) {}
  async put(id: string, c: StoredCard) {
    const r = await this.db.store(id, { storage: 'db', path: null, jpeg: c.jpeg, width: c.width, height: c.height, bytes: c.jpeg.length });
    return r?.renders ?? null;
  }
  async open(row: { jpeg: Buffer | null }): Promise<ResultRef | null> {
    return row.jpeg ? { kind: 'bytes', jpeg: row.jpeg } : null;
  }
  async sweep() {
    await this.db.prune();
    return 0;
  }
}

export class StorageError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/**
 * Supabase Storage over its REST API (no extra client): upload
 * `POST /storage/v1/object/{bucket}/{path}` (x-upsert), sign
 * `POST /storage/v1/object/sign/{bucket}/{path}` → {signedURL}, delete
 * `DELETE /storage/v1/object/{bucket}` {prefixes}, bucket `POST /storage/v1/bucket`.
 */
export class SupabaseResultStore implements ResultStore {
  readonly kind = 'supabase' as const;
  private readonly base: string;
  constructor(private readonly db: ApiDb, private readonly o: {
    url: string; serviceRoleKey: string; bucket: string; signedUrlSeconds: number; timeoutMs?: number;
  }) {
    this.base = `${o.url.replace(/\/+$/, '')}/storage/v1`;
  }

  private async req(method: string, path: string, body?: Buffer | object, headers: Record<string, string> = {}) {
    const isBytes = Buffer.isBuffer(body);
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.o.serviceRoleKey}`, apikey: this.o.serviceRoleKey,
        ...(body === undefined ? {} : { 'content-type': isBytes ? 'image/jpeg' : 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : isBytes ? new Uint8Array(body) : JSON.stringify(body),
      signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new StorageError(res.status, `Supabase Storage ${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) as Record<string, unknown> : {};
  }

  private objectPath = (id: string) => `cards/${id}.jpg`;

  async init() {
    try {
      await this.req('POST', '/bucket', { id: this.o.bucket, name: this.o.bucket, public: false });
    } catch (err) {
      // exists already: Storage answers 400/409 "Duplicate"
      if (!(err instanceof StorageError && (err.status === 409 || /duplicate|already exists/i.test(err.message)))) throw err;
    }
  }

  private bucketReady: Promise<void> | null = null;

  async put(id: string, c: StoredCard) {
    await (this.bucketReady ??= this.init().catch((err) => { this.bucketReady = null; throw err; }));
    const path = this.objectPath(id);
    await this.req('POST', `/object/${this.o.bucket}/${path}`, c.jpeg, { 'x-upsert': 'true', 'cache-control': 'max-age=86400' });
    const r = await this.db.store(id, { storage: 'supabase', path, jpeg: null, width: c.width, height: c.height, bytes: c.jpeg.length });
    return r?.renders ?? null;
  }

  async open(row: { path: string | null }): Promise<ResultRef | null> {
    if (!row.path) return null;
    const r = await this.req('POST', `/object/sign/${this.o.bucket}/${row.path}`, { expiresIn: this.o.signedUrlSeconds });
    const signed = String(r.signedURL ?? r.signedUrl ?? '');
    if (!signed) throw new StorageError(502, 'Supabase Storage returned no signed URL');
    return { kind: 'redirect', url: /^https?:/.test(signed) ? signed : `${this.base}${signed.startsWith('/') ? '' : '/'}${signed}` };
  }

  async sweep() {
    const paths = await this.db.prune();
    if (paths.length) await this.req('DELETE', `/object/${this.o.bucket}`, { prefixes: paths });
    return paths.length;
  }
}
