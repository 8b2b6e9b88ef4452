// The shared rate limiter's store (rate_take / rate_set): fixed windows per key, counted
// across every instance. The AI copywriter (src/ai/limiter.ts) is its user.
import type { Rpc } from './rpc/index.ts';
import type { RateTake } from './rpc/results.ts';

export class RateLimitStore {
  constructor(private readonly rpc: Rpc) {}
  rateTake(key: string, cost = 1): Promise<RateTake> { return this.rpc.call('rate_take', { p_key: key, p_cost: cost }); }
  async rateSet(key: string, windowSeconds: number, maxCalls: number) {
    await this.rpc.call('rate_set', { p_key: key, p_window_seconds: windowSeconds, p_max_calls: maxCalls });
  }
}
