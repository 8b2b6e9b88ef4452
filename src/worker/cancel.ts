// Canceling queued or running jobs, for any face (the bot's order cancel, the API's
// DELETE goes through api_card_cancel instead). cancel_job() ends the row at once; a
// worker running it learns so at its next heartbeat (within half a lease), aborts the
// job's AbortSignal (a provider fetch in flight is cut off) and records nothing: a
// canceled job is never retried.
import type { Store } from '../db/store.ts';

/** Cancels each job that is still queued or running; returns the ids it canceled. */
export async function cancelJobs(store: Pick<Store, 'cancelJob'>, ids: string[]): Promise<string[]> {
  const done: string[] = [];
  for (const id of ids) if (await store.cancelJob(id)) done.push(id);
  return done;
}
