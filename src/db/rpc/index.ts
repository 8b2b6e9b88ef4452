// The RPC layer: one typed call for every SQL function of the catalog, over either
// transport (postgres.ts: postgres.js named calls; supabase.ts: supabase-js `.rpc`).
import type { ArgsOf, FnName, ResultOf } from './catalog.ts';

export type { ArgsOf, FnName, ResultOf } from './catalog.ts';
export { CATALOG } from './catalog.ts';

export interface Rpc {
  readonly mode: 'direct' | 'rpc';
  /** Calls `public.<fn>` with named arguments; `columns` narrows a `rows` result. */
  call<F extends FnName>(fn: F, args: ArgsOf<F>, o?: { columns?: readonly string[] }): Promise<ResultOf<F>>;
}

/** Bytes a function returned as base64 text (see the catalog's `base64`). */
export const fromBase64 = (b64: string | null | undefined): Buffer | null => (b64 ? Buffer.from(b64, 'base64') : null);
