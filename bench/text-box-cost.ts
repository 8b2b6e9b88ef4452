// CPU and wall time of drawing one text box with Pango (typeset.ts drawBox), 100 times each:
//   node --import tsx bench/text-box-cost.ts
import { drawBox } from '../src/cards/typeset.ts';
const title = { lines: ['Сыворотка для лица с', 'витамином С и', 'гиалуроновой кислотой'], font: 'bold' as const, size: 50, lineHeight: 57, tracking: 0, fill: '#000000', align: 'left' as const, x: 56, boxWidth: 788, baseline: 100 };
const feat = { lines: ['Выравнивает тон и придаёт сияние'], font: 'regular' as const, size: 28, lineHeight: 34, tracking: 0, fill: '#000000', align: 'left' as const, x: 56, boxWidth: 700, baseline: 100 };
const price = { lines: ['1 290 ₽'], font: 'bold' as const, size: 44, lineHeight: 52, tracking: 0, fill: '#000000', align: 'center' as const, x: 56, boxWidth: 300, baseline: 100 };
for (const b of [title, feat, price]) await drawBox(b);
for (const [name, b] of [['title', title], ['feature', feat], ['price', price]] as const) {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  for (let i = 0; i < 100; i++) await drawBox(b);
  const c = process.cpuUsage(c0);
  console.log(name, 'wall', ((performance.now() - t0) / 100).toFixed(2), 'ms; cpu', ((c.user + c.system) / 1000 / 100).toFixed(2), 'ms');
}
