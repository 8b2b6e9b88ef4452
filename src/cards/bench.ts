/**
 * Renderer speed and memory, in one process:
 *   node --import tsx src/cards/bench.ts [--count 60] [--concurrency 25] [--size standard|large] [--photo 1280x960]
 * Prints one JSON line: latency of sequential renders (p50/p90 ms), CPU time per
 * card, cards per CPU-second, and peak RSS while `concurrency` renders are
 * requested at once. Photos are generated (a studio shot with sensor-like noise).
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { CARD_SIZES, renderCard, warmUp, type CardSize } from './render.ts';
import { SAMPLE_TEXT, samplePhoto } from './sample.ts';
import { TEMPLATE_IDS } from './templates.ts';

export interface BenchResult {
  photo: string;
  size: CardSize;
  count: number;
  concurrency: number;
  p50Ms: number;
  p90Ms: number;
  cpuMsPerCard: number;
  cardsPerCpuSecond: number;
  burstCardsPerSecond: number;
  rssBeforeMb: number;
  peakRssMb: number;
}

export async function benchPhoto(width: number, height: number): Promise<Buffer> {
  const base = await samplePhoto(width, height);
  const noise = await sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 12 } } })
    .png()
    .toBuffer();
  return sharp(base).composite([{ input: noise, blend: 'overlay' }]).jpeg({ quality: 88 }).toBuffer();
}

export async function bench(opts: { count: number; concurrency: number; size: CardSize; photo: [number, number] }): Promise<BenchResult> {
  const photo = await benchPhoto(...opts.photo);
  await warmUp();
  await renderCard({ photo, ...SAMPLE_TEXT.ru, template: 'clean', size: opts.size });

  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < opts.count; i++) {
    const t = performance.now();
    await renderCard({ photo, ...SAMPLE_TEXT.ru, template: TEMPLATE_IDS[i % TEMPLATE_IDS.length], size: opts.size });
    times.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  times.sort((a, b) => a - b);

  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < opts.count) {
        const i = next++;
        await renderCard({ photo, ...SAMPLE_TEXT.ru, template: TEMPLATE_IDS[i % TEMPLATE_IDS.length], size: opts.size });
      }
    }),
  );
  const burstMs = performance.now() - t0;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);

  const mb = (n: number) => Math.round(n / 1048576);
  const r1 = (n: number) => Math.round(n * 10) / 10;
  return {
    photo: opts.photo.join('x'),
    size: opts.size,
    count: opts.count,
    concurrency: opts.concurrency,
    p50Ms: r1(times[Math.floor(times.length / 2)]),
    p90Ms: r1(times[Math.floor(times.length * 0.9)]),
    cpuMsPerCard: r1(cpuMs / opts.count),
    cardsPerCpuSecond: r1((opts.count * 1000) / cpuMs),
    burstCardsPerSecond: r1((opts.count * 1000) / burstMs),
    rssBeforeMb: mb(rssBefore),
    peakRssMb: mb(peak),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '60' },
      concurrency: { type: 'string', default: '25' },
      size: { type: 'string', default: 'standard' },
      photo: { type: 'string', default: '1280x960' },
    },
  });
  const size = values.size as CardSize;
  if (!CARD_SIZES[size]) throw new Error(`--size standard|large`);
  const [w, h] = values.photo.split('x').map(Number);
  const result = await bench({ count: Number(values.count), concurrency: Number(values.concurrency), size, photo: [w, h] });
  console.log(JSON.stringify(result));
}
