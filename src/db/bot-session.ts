// The bot's session store: conversation state per user, update dedupe (a webhook update
// is handled once across instances) and the lease behind long-polling leadership in RPC
// mode. Each one catalog call over the RPC layer.
import type { Rpc } from './rpc/index.ts';

export class BotSessionStore {
  constructor(private readonly rpc: Rpc) {}

  sessionGet(userId: number) { return this.rpc.call('bot_session_get', { p_user: userId }); }
  async sessionPut(userId: number, data: unknown) { await this.rpc.call('bot_session_put', { p_user: userId, p_data: data }); }
  async sessionDelete(userId: number) { await this.rpc.call('bot_session_delete', { p_user: userId }); }
  /** true the first time an update_id is seen. */
  claimUpdate(updateId: number) { return this.rpc.call('update_claim', { p_update_id: updateId }); }
  async releaseUpdate(updateId: number) { await this.rpc.call('update_release', { p_update_id: updateId }); }
  leaderTry(name: string, holder: string, ttlSeconds: number) {
    return this.rpc.call('leader_try', { p_name: name, p_holder: holder, p_ttl_seconds: ttlSeconds });
  }
  async leaderRelease(name: string, holder: string) { await this.rpc.call('leader_release', { p_name: name, p_holder: holder }); }
}
