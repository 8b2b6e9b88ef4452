// The two errors by which a job (or the client it calls: src/telegram) tells the queue
// how to retry. Kept outside src/worker so that clients need not import the worker.

/** Bad input, unknown user, blocked bot: retrying cannot help. */
export class PermanentError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** The remote side told us when to come back (Telegram 429 retry_after, HTTP Retry-After). */
export class RetryAfterError extends Error {
  constructor(message: string, readonly retryAfterMs: number) {
    super(message);
    this.name = 'RetryAfterError';
  }
}
