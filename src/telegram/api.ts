// Outgoing Telegram calls, shared by the bot (src/bot) and the card jobs (src/worker):
// a grammY Api pointed at TELEGRAM_API_ROOT with grammY's own retry and throttling
// plugins, file downloads from the same root, and error classification for the queue.
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { autoRetry } from '@grammyjs/auto-retry';
import { apiThrottler } from '@grammyjs/transformer-throttler';
import { Api, GrammyError, HttpError } from 'grammy';
import { PermanentError, RetryAfterError } from '../job-errors.ts';
import { recordTelegramError } from '../metrics.ts';

export interface TelegramApiOptions {
  token: string;
  apiRoot: string;
  /** Keep under Telegram's limits (~1 msg/s per chat, 30/s overall). Default true. */
  throttle?: boolean;
  /**
   * 429s with retry_after up to this many seconds are waited out in-process (autoRetry);
   * longer ones are thrown, so a queue job can hand its slot back and retry later.
   */
  maxInlineRetrySeconds?: number;
  /** Retry 5xx and network errors in-process too (the bot: yes; jobs: no, the queue backs off). */
  retryServerErrors?: boolean;
  maxRetryAttempts?: number;
}

export const OFFICIAL_API_ROOT = 'https://api.telegram.org';

/** Installs the plugins on an Api (a Bot's own `bot.api` or a standalone one). */
export function configureApi(api: Api, o: Omit<TelegramApiOptions, 'token' | 'apiRoot'>): Api {
  // Innermost: counts every failed call Telegram answered, retries included.
  api.config.use(async (prev, method, payload, signal) => {
    const res = await prev(method, payload, signal);
    if (!res.ok) recordTelegramError(method, res.error_code);
    return res;
  });
  // Installed first = innermost: every retry goes through the throttler again.
  if (o.throttle !== false) api.config.use(apiThrottler());
  api.config.use(autoRetry({
    maxDelaySeconds: o.maxInlineRetrySeconds ?? Infinity,
    maxRetryAttempts: o.maxRetryAttempts ?? 3,
    rethrowInternalServerErrors: !o.retryServerErrors,
    rethrowHttpErrors: !o.retryServerErrors,
  }));
  return api;
}

export function createTelegramApi(o: TelegramApiOptions): Api {
  return configureApi(new Api(o.token, { apiRoot: o.apiRoot.replace(/\/+$/, '') }), o);
}

export class FileTooBigError extends Error {
  constructor(readonly bytes: number, readonly maxBytes: number) {
    super(`file is ${bytes} bytes, over the ${maxBytes}-byte download limit`);
    this.name = 'FileTooBigError';
  }
}

/**
 * getFile + download from the same API root (a self-hosted Bot API server serves its
 * files too; in its --local mode file_path is an absolute path on a shared disk).
 */
export async function downloadFile(api: Api, o: { token: string; apiRoot: string; fileId: string; maxBytes: number; signal?: AbortSignal }): Promise<Buffer> {
  const file = await api.getFile(o.fileId, o.signal as never);
  if (file.file_size && file.file_size > o.maxBytes) throw new FileTooBigError(file.file_size, o.maxBytes);
  if (!file.file_path) throw new Error('getFile returned no file_path');
  if (isAbsolute(file.file_path)) return readFile(file.file_path, { signal: o.signal as never });
  const url = `${o.apiRoot.replace(/\/+$/, '')}/file/bot${o.token}/${file.file_path}`;
  const res = await fetch(url, { signal: o.signal ?? AbortSignal.timeout(60_000) });
  if (!res.ok) {
    const err = new Error(`file download failed: HTTP ${res.status}`);
    if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new PermanentError(err.message);
    throw err;
  }
  const buf = Buffer.from(await res.arrayBuffer());
  if (buf.length > o.maxBytes) throw new FileTooBigError(buf.length, o.maxBytes);
  return buf;
}

export type TelegramFailure =
  | { kind: 'retry_after'; ms: number; message: string }
  | { kind: 'blocked'; message: string }        // 403: the user blocked the bot / deleted the chat
  | { kind: 'bad_request'; message: string }    // 400 and other 4xx: will not get better
  | { kind: 'transient'; message: string };     // 5xx, network: retry with backoff

export function classifyTelegramError(err: unknown): TelegramFailure {
  if (err instanceof GrammyError) {
    const message = `${err.method}: ${err.error_code} ${err.description}`;
    if (err.error_code === 429) return { kind: 'retry_after', ms: Math.max(0, (err.parameters.retry_after ?? 1) * 1000), message };
    if (err.error_code === 403) return { kind: 'blocked', message };
    if (err.error_code >= 500) return { kind: 'transient', message };
    return { kind: 'bad_request', message };
  }
  if (err instanceof HttpError) return { kind: 'transient', message: `network: ${err.message}` };
  return { kind: 'transient', message: (err as Error)?.message ?? String(err) };
}

/** Maps a Telegram failure to the queue's retry semantics. */
export function toJobError(f: TelegramFailure): Error {
  switch (f.kind) {
    case 'retry_after': return new RetryAfterError(f.message, f.ms);
    case 'blocked':
    case 'bad_request': return new PermanentError(f.message);
    default: return new Error(f.message);
  }
}
