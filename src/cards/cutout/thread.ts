/**
 * The cut-out off the main thread. Segmentation is a few hundred milliseconds of plain
 * JavaScript loops per photo: on the main thread it would stall HTTP, the bot and the
 * job pool's heartbeats. Cut-outs run in their own small pool of threads (one per core
 * but one, at least one); a cut-out also holds a slot of the process' CPU limit
 * (limit.ts) while its thread works, so cut-outs and renders together stay within it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BadPhotoError, type BadPhotoCode } from '../photo.ts';
import { cpuSlot, Semaphore } from '../limit.ts';
import type { CutStage } from '../generation.ts';

const THREADS = Math.max(1, availableParallelism() - 1);
const ENTRY = new URL('./thread-entry.mjs', import.meta.url);

interface Pending { resolve: (r: CutStage) => void; reject: (e: Error) => void }
interface Slot { worker: Worker; busy: boolean }

const slots: Slot[] = [];
const admitted = new Semaphore(THREADS);
const pending = new Map<number, Pending>();
let nextId = 1;

function spawn(): Slot {
  const worker = new Worker(ENTRY);
  worker.unref(); // an idle pool never keeps the process alive
  const slot: Slot = { worker, busy: false };
  worker.on('message', (m: { id: number; png?: Uint8Array; framedReason?: CutStage['framedReason']; error?: { name: string; code?: string; message: string } }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) {
      p.reject(m.error.name === 'BadPhotoError' ? new BadPhotoError(m.error.code as BadPhotoCode, m.error.message) : new Error(m.error.message));
    } else {
      p.resolve({ png: Buffer.from(m.png!.buffer, m.png!.byteOffset, m.png!.byteLength), framedReason: m.framedReason ?? null });
    }
  });
  worker.on('error', (err) => {
    // A thread that dies fails what it held; the next call starts a new one.
    const i = slots.indexOf(slot);
    if (i >= 0) slots.splice(i, 1);
    for (const [id, p] of pending) if ((p as Pending & { slot?: Slot }).slot === slot) { pending.delete(id); p.reject(err as Error); }
  });
  return slot;
}

/**
 * A thread of our own: the semaphore admits at most THREADS callers, so one is idle or
 * can be started. (It also drops a waiter whose signal aborts: a hand-rolled wake-up list
 * used to hand the freed thread to an aborted waiter, which threw and woke nobody, and
 * the pool stalled with idle threads after job timeouts.)
 */
async function take(signal?: AbortSignal): Promise<Slot> {
  await admitted.acquire(signal);
  let slot = slots.find((s) => !s.busy);
  if (!slot) slots.push(slot = spawn());
  slot.busy = true; // in the same tick as the find: no other caller can pick it
  return slot;
}

/**
 * cutoutStage() in a cut-out thread. The signal is checked before the photo goes in; a
 * running cut-out finishes. `photo` may be a loader, called once a thread and a CPU slot
 * are ours: hundreds of jobs waiting in line then hold no photo bytes.
 */
export async function cutoutInThread(photo: Buffer | (() => Promise<Buffer>), opts: { signal?: AbortSignal } = {}): Promise<CutStage> {
  const slot = await take(opts.signal);
  slot.worker.ref();
  let release: (() => void) | undefined;
  try {
    // The thread first, then the CPU slot: a cut-out waiting for a thread holds no CPU slot.
    release = await cpuSlot(opts.signal);
    const bytes = typeof photo === 'function' ? await photo() : photo;
    const id = nextId++;
    return await new Promise<CutStage>((resolve, reject) => {
      pending.set(id, Object.assign({ resolve, reject }, { slot }));
      slot.worker.postMessage({ id, photo: bytes });
    });
  } finally {
    release?.();
    slot.busy = false;
    slot.worker.unref();
    admitted.release();
  }
}
