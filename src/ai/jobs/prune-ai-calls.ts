// prune-ai-calls: retention of the AI backdrops' image bytes (ai_prune(): after a day;
// the rows and their cost stay), run once per period as a queue job by the Scheduler.
import type { AiStore } from '../../db/ai.ts';
import { definePeriodicJob } from '../../worker/schedule.ts';

export function pruneAiCallsJob(ai: Pick<AiStore, 'prune'>, everyMs: number) {
  return definePeriodicJob({
    kind: 'prune-ai-calls',
    everyMs,
    async run() {
      return { cleared: await ai.prune() };
    },
  });
}
