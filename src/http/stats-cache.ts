// /queue is Render's health check and gets curled by people: it must stay cheap.
// Counts are fetched at most once per second (concurrent requests share one fetch),
// and a failing database is reported as such instead of hanging the check.
import type { QueueStats, Store } from '../db/store.ts';
import { scrub } from '../log.ts';

export class StatsCache {
  private value: QueueStats | null = null;
  private fetchedAt = 0;
  private inflight: Promise<void> | null = null;
  error: string | null = null;
  errorSince: number | null = null;

  constructor(private readonly store: Store, private readonly ttlMs = 1_000, private readonly timeoutMs = 2_000) {}

  /** Latest stats no older than ttl, or the last good ones with `error` set. */
  async get(): Promise<{ stats: QueueStats | null; error: string | null; ageMs: number }> {
    if (Date.now() - this.fetchedAt >= this.ttlMs) {
      this.inflight ??= this.refresh().finally(() => { this.inflight = null; });
      await this.inflight;
    }
    return { stats: this.value, error: this.error, ageMs: Date.now() - this.fetchedAt };
  }

  private async refresh() {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`database did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      });
      this.value = await Promise.race([this.store.stats(), timeout]);
      this.error = null;
      this.errorSince = null;
      this.fetchedAt = Date.now();
    } catch (err) {
      this.error = `database unavailable: ${scrub((err as Error).message)}`;
      this.errorSince ??= Date.now();
      // Retry on the next request rather than caching the failure for a whole ttl.
    } finally {
      clearTimeout(timer);
    }
  }
}
