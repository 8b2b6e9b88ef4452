// Job kinds are registered handlers, one file each under jobs/. A kind declares the
// schema of its payload (untrusted: a row can be written by anyone with DB access),
// its retry policy and a timeout after which its AbortSignal fires.
import type { z } from 'zod';
import type { ClaimedJob } from '../db/store.ts';
import type { Logger } from '../log.ts';
import type { PolicyName, RetryPolicy } from './retry.ts';

export interface JobContext {
  job: ClaimedJob;
  /** Fires on timeout, lost lease or shutdown. Handlers pass it to their I/O. */
  signal: AbortSignal;
  log: Logger;
}

export interface JobKind<P = unknown> {
  kind: string;
  payload: z.ZodType<P>;
  policy: PolicyName | RetryPolicy;
  timeoutMs: number;
  handle(payload: P, ctx: JobContext): Promise<unknown>;
}

export function defineJob<P>(k: JobKind<P>): JobKind<P> {
  return k;
}

export class JobRegistry {
  private readonly kinds = new Map<string, JobKind<any>>();

  constructor(kinds: JobKind<any>[] = []) {
    for (const k of kinds) this.register(k);
  }

  register(k: JobKind<any>): this {
    if (this.kinds.has(k.kind)) throw new Error(`job kind ${k.kind} registered twice`);
    this.kinds.set(k.kind, k);
    return this;
  }

  get(kind: string): JobKind<unknown> | undefined {
    return this.kinds.get(kind);
  }

  names(): string[] {
    return [...this.kinds.keys()];
  }
}
