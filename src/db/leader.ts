// One long-polling instance at a time. Two getUpdates callers make Telegram answer
// 409 Conflict, so polling is held by a leader:
// - direct mode: a Postgres advisory lock on a dedicated (reserved) connection; it is
//   released by Postgres the moment that session ends, so a dead leader's lock is gone
//   as soon as its connection is, and a follower polling every `retryMs` takes over.
// - RPC mode (no session to hold a lock): a lease row renewed every ttl/3.
import type postgres from 'postgres';
import type { BotSessionStore } from './bot-session.ts';

export interface Leader {
  /** true when this instance holds (or just took) leadership. */
  tryAcquire(): Promise<boolean>;
  /** Re-checks (and renews) leadership; false or a throw = lost. */
  check(): Promise<boolean>;
  release(): Promise<void>;
  readonly checkEveryMs: number;
}

const LOCK_CLASS = 727_274_002; // arbitrary constant; the second key is the bot id

export class AdvisoryLeader implements Leader {
  private conn: postgres.ReservedSql | null = null;
  private held = false;
  readonly checkEveryMs = 2_000;
  constructor(private readonly sql: postgres.Sql, private readonly botId: number) {}

  async tryAcquire() {
    try {
      this.conn ??= await this.sql.reserve();
      const [r] = await this.conn`select pg_try_advisory_lock(${LOCK_CLASS}::int, ${this.botId % 2_147_483_647}::int) as ok`;
      this.held = r.ok === true;
      return this.held;
    } catch (err) {
      this.drop();
      throw err;
    }
  }

  async check() {
    if (!this.conn || !this.held) return false;
    try {
      // The lock lives as long as this session: a round trip proves the session is alive.
      const [r] = await this.conn`select count(*)::int as n from pg_locks
        where locktype = 'advisory' and pid = pg_backend_pid() and classid = ${LOCK_CLASS}::int::oid and granted`;
      return r.n > 0;
    } catch {
      this.drop();
      return false;
    }
  }

  async release() {
    if (this.conn && this.held) {
      await this.conn`select pg_advisory_unlock(${LOCK_CLASS}::int, ${this.botId % 2_147_483_647}::int)`.catch(() => {});
    }
    this.drop();
  }

  private drop() {
    this.held = false;
    try { this.conn?.release(); } catch { /* already gone */ }
    this.conn = null;
  }
}

export class LeaseLeader implements Leader {
  readonly checkEveryMs: number;
  constructor(private readonly orders: Pick<BotSessionStore, 'leaderTry' | 'leaderRelease'>, private readonly name: string, private readonly holder: string, private readonly ttlSeconds = 10) {
    this.checkEveryMs = Math.max(500, (ttlSeconds * 1000) / 3);
  }
  tryAcquire() { return this.orders.leaderTry(this.name, this.holder, this.ttlSeconds); }
  check() { return this.orders.leaderTry(this.name, this.holder, this.ttlSeconds); }
  release() { return this.orders.leaderRelease(this.name, this.holder); }
}
