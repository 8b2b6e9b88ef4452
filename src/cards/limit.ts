import { availableParallelism } from 'node:os';

/**
 * A counting semaphore whose waiters can give up through an AbortSignal: the
 * renderer admits a few cards at a time so that memory stays flat under bursts.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {}

  /** Resolves when a slot is ours; rejects with the signal's reason if aborted first. */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.active < this.max) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const go = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason);
      };
      this.waiting.push(go);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    // release() handed its slot straight to us: `active` already counts it.
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  /** Slots in use and callers waiting. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }
}

/**
 * The one limit on CPU-heavy card work in this process: cut-outs, renders, variant and
 * slide compositing. A job pool of hundreds mostly waits on I/O (an image model that
 * answers in seconds); its CPU steps queue here instead of all decoding and compositing
 * at once, which would multiply memory and starve the event loop. Slow I/O such as AI
 * calls must never be awaited while holding a slot. Default: one slot per core.
 */
let cpu = new Semaphore(Math.max(1, availableParallelism()));

/** Resize the CPU limit (the composition root, from CPU_CONCURRENCY). Work already holding a slot of the old limit releases it there. */
export function setCpuLimit(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`CPU limit must be a whole number ≥ 1, got ${n}`);
  cpu = new Semaphore(n);
}

/** Slots of the CPU limit: its size, in use, and work waiting for one. */
export function cpuLoad(): { max: number; active: number; waiting: number } {
  return { max: cpu.max, ...cpu.load };
}

/** Wait for one CPU slot (abortable); resolves to the function that gives it back. */
export async function cpuSlot(signal?: AbortSignal): Promise<() => void> {
  const s = cpu;
  await s.acquire(signal);
  return () => s.release();
}

/** Run `fn` holding one CPU slot; waiting for it can be aborted. */
export async function withCpu<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const release = await cpuSlot(signal);
  try {
    return await fn();
  } finally {
    release();
  }
}
