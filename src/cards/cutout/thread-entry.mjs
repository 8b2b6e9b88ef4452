// A cut-out thread's entry: plain JavaScript, so the thread can load the TypeScript
// sources through tsx whatever flags the main thread was started with.
import { register } from 'tsx/esm/api';

register();
await import('./thread-worker.ts');
