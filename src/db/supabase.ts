// The queue store over supabase-js RPC (PostgREST): the same catalog calls as the direct
// store. No push channel over HTTP, so an enqueue wakes only this process's own pool.
import { QueueStore } from './queue.ts';
import { RpcError, supabaseRpc } from './rpc/supabase.ts';
import { createServiceClient } from './supabase-client.ts';
import type { Job, NewJob } from './store.ts';

export { RpcError } from './rpc/supabase.ts';

export interface SupabaseStoreOptions {
  url: string;
  serviceRoleKey: string;
  fetchTimeoutMs?: number;
}

export class SupabaseStore extends QueueStore {
  private readonly client: ReturnType<typeof createServiceClient>;
  private readonly localWake = new Set<() => void>();

  constructor(o: SupabaseStoreOptions) {
    const client = createServiceClient(o);
    super(supabaseRpc(client));
    this.client = client;
  }

  async enqueue(jobs: NewJob[]): Promise<Job[]> {
    const out = await super.enqueue(jobs);
    if (jobs.length) for (const wake of this.localWake) wake();
    return out;
  }

  async schemaVersion(): Promise<string | null> {
    try {
      return await super.schemaVersion();
    } catch (err) {
      // PGRST202: the function does not exist yet, i.e. no migrations applied.
      if (err instanceof RpcError && err.code === 'PGRST202') return null;
      throw err;
    }
  }

  async onWake(listener: () => void): Promise<boolean> {
    this.localWake.add(listener);
    return false; // other instances' enqueues are not pushed: the pool also polls, backing off when idle
  }

  async ping(): Promise<void> {
    await this.schemaVersion();
  }

  async close(): Promise<void> {
    await this.client.removeAllChannels();
  }
}
