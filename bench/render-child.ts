// Renders cards with src/cards directly: service time one at a time, then throughput,
// CPU and peak RSS at concurrency 25.
import { TEMPLATE_IDS, renderCard, warmUp } from '../src/cards/index.ts';
import { SAMPLE_TEXT, samplePhoto } from '../src/cards/sample.ts';
import { nowMs, pct, toParent } from './lib.ts';

const { cards, concurrency } = JSON.parse(process.env.BENCH_ARGS!) as { cards: number; concurrency: number };
await warmUp();
const photo = await samplePhoto(1200, 1500);
const input = (i: number) => ({ photo, ...SAMPLE_TEXT.ru, template: TEMPLATE_IDS[i % TEMPLATE_IDS.length] });

const single: number[] = [];
for (let i = 0; i < Math.min(30, cards); i++) {
  const t = nowMs();
  await renderCard(input(i));
  single.push(nowMs() - t);
}
single.sort((a, b) => a - b);

const lat: number[] = [];
let next = 0;
const cpu0 = process.cpuUsage();
const t0 = nowMs();
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < cards) {
    const i = next++;
    const t = nowMs();
    await renderCard(input(i));
    lat.push(nowMs() - t);
  }
}));
const seconds = (nowMs() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
lat.sort((a, b) => a - b);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
toParent({
  cards, concurrency,
  cardsPerSec: cards / seconds,
  cardsPerCpuSec: cards / cpuSeconds,
  p50Ms: pct(single, 50), p95Ms: pct(single, 95),
  p50MsAt25: pct(lat, 50), p95MsAt25: pct(lat, 95),
  peakRssMb: process.resourceUsage().maxRSS / 1024,
});
process.exit(0);
