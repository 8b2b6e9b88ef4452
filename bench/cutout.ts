// cutout: the local cut-out on the synthetic benchmark set (src/cards/cutout/synth.ts),
// one row per background class plus 'all'.
import { spawnChild } from './lib.ts';

export async function cutoutScenario(o: { quick: boolean }) {
  const count = o.quick ? 20 : 60;
  // On ONE core (taskset -c 0; libvips on one thread in the child): wall time per picture
  // is what one core gives a cut-out, CPU time is what it costs.
  const c = spawnChild('cutout-child.ts', { count }, [], { cpu: 0 });
  const m = await c.next((x) => Array.isArray(x.classes), 1_800_000);
  const r3 = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
  const rows = m.classes.map((s: any) => ({
    system: s.cls, n: s.n, meanIou: r3(s.meanIou), medianIou: r3(s.medianIou), rejected: r3(s.rejected),
    acceptedMeanIou: r3(s.acceptedMeanIou), acceptedMinIou: r3(s.acceptedMinIou),
  }));
  return { rows, extra: { pictures: count, pinnedToOneCore: true, cpuP50Ms: Math.round(m.cpuP50Ms), cpuP90Ms: Math.round(m.cpuP90Ms), wallP50Ms: Math.round(m.wallP50Ms) } };
}
