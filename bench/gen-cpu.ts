// gen-cpu: CPU per order for each generation stage, one order at a time (load-independent,
// unlike the e2e bench's wall clock). The cut-out of the e2e bench's photo is made once;
// then per order: the 3 variants, the set (slides + validation), the zip.
//   node --import tsx bench/gen-cpu.ts [orders=20]
import { cpuUsage } from 'node:process';
import { cutoutStage, setStage, variantsStage } from '../src/cards/generation.ts';
import { zip } from '../src/orders/zip.ts';
import { productPhoto } from '../test/support/hostile-files.ts';

const orders = Number(process.argv[2] ?? 20);
const cpuMs = async <T>(f: () => Promise<T> | T): Promise<[T, number]> => {
  const c0 = cpuUsage();
  const r = await f();
  const c = cpuUsage(c0);
  return [r, (c.user + c.system) / 1000];
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cut = await cutoutStage(await productPhoto(1280, 960));
const rows: Record<'variants' | 'set' | 'zip', number[]> = { variants: [], set: [], zip: [] };
for (let i = 0; i < orders + 2; i++) {
  const template = (['clean', 'bold', 'promo'] as const)[i % 3];
  const [variants, v] = await cpuMs(() => variantsStage(cut.png, { template, marketplace: 'wb', title: 'Ceramic mug' }));
  const [set, s] = await cpuMs(() => setStage({
    cutPng: cut.png, mainJpeg: variants[i % 3].jpeg, title: 'Ceramic mug 350 ml', features: ['Dishwasher safe', 'Keeps heat', 'Handmade glaze'],
    price: '1290', template, marketplace: 'wb',
  }));
  const [, z] = await cpuMs(() => zip(set.slides.map((sl, n) => ({ name: `card-${n}.jpg`, data: sl.jpeg }))));
  if (i < 2) continue; // warm-up: fonts, backdrops
  rows.variants.push(v); rows.set.push(s); rows.zip.push(z);
}
const out = Object.fromEntries(Object.entries(rows).map(([k, xs]) => [k, Math.round(median(xs) * 10) / 10]));
console.log(JSON.stringify({ orders, cpuMsMedian: out, loadAvg1m: (await import('node:os')).loadavg()[0].toFixed(1) }));
