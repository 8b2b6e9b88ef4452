// Runs inside a cut-out thread (see thread.ts): one cut-out per message, answered with
// the recorded form (PNG + framed reason) or the error's name, code and message.
import { parentPort } from 'node:worker_threads';
import { cutoutStage } from '../generation.ts';

parentPort?.on('message', async (m: { id: number; photo: Uint8Array }) => {
  try {
    const r = await cutoutStage(Buffer.from(m.photo.buffer, m.photo.byteOffset, m.photo.byteLength));
    parentPort!.postMessage({ id: m.id, png: r.png, framedReason: r.framedReason });
  } catch (err) {
    const e = err as Error & { code?: string };
    parentPort!.postMessage({ id: m.id, error: { name: e.name, code: e.code, message: e.message } });
  }
});
