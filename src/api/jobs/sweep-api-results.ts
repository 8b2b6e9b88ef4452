// sweep-api-results: old API rate windows and usage rows, and the Storage objects of
// cards deleted with their jobs (ResultStore.sweep), run once per period as a queue
// job by the worker's Scheduler.
import { definePeriodicJob } from '../../worker/schedule.ts';
import type { ResultStore } from '../storage.ts';

export function sweepApiResultsJob(results: Pick<ResultStore, 'sweep'>, everyMs: number) {
  return definePeriodicJob({
    kind: 'sweep-api-results',
    everyMs,
    async run() {
      return { removedObjects: await results.sweep() };
    },
  });
}
