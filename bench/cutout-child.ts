// Cut-out quality and cost on the synthetic set, in a process of its own with libvips
// on one thread: per-class IoU, gate rejections, CPU time per picture.
import sharp from 'sharp';
import { evaluateSet, percentile, summarise } from '../src/cards/cutout/evaluate.ts';
import { toParent } from './lib.ts';

const { count } = JSON.parse(process.env.BENCH_ARGS!) as { count: number };
sharp.concurrency(1);
const results = await evaluateSet(count);
const cpu = results.map((r) => r.cpuMs);
toParent({
  classes: summarise(results),
  cpuP50Ms: percentile(cpu, 50),
  cpuP90Ms: percentile(cpu, 90),
  wallP50Ms: percentile(results.map((r) => r.wallMs), 50),
  cases: results,
});
process.exit(0);
