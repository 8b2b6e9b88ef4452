// prune-jobs: the queue's own retention (seed 002), run once per period by the
// Scheduler. prune() deletes in bounded SKIP LOCKED batches, so this loops until a
// batch comes back empty, stopping early on timeout or shutdown.
import type { Store } from '../../db/store.ts';
import { definePeriodicJob } from '../schedule.ts';

const MAX_BATCHES = 100;

export function pruneJobsJob(store: Pick<Store, 'prune'>, everyMs: number) {
  return definePeriodicJob({
    kind: 'prune-jobs',
    everyMs,
    async run(_period, { signal, log }) {
      let deleted = 0;
      for (let i = 0; i < MAX_BATCHES && !signal.aborted; i++) {
        const n = await store.prune();
        deleted += n;
        if (n === 0) break;
      }
      if (deleted) log.info({ deleted }, 'pruned finished jobs');
      return { deleted };
    },
  });
}
