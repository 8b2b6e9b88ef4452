// Writes the cut-out benchmark set to a folder, to look at or to feed another tool:
//   node --import tsx scripts/build-cutout-set.ts [--out bench/cutout-set] [--count 60]
// Each picture i: NNN-<class>-<product>.jpg and its true mask NNN-<class>-<product>.mask.png
// (white = product), plus manifest.json. Deterministic: the same files on every run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { synthSet } from '../src/cards/cutout/synth.ts';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'bench/cutout-set' }, count: { type: 'string', default: '60' } } });
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1) throw new Error('--count: a positive integer');
mkdirSync(values.out!, { recursive: true });
const manifest: unknown[] = [];
for await (const c of synthSet(count)) {
  const name = `${String(c.index).padStart(3, '0')}-${c.cls}-${c.product}`;
  writeFileSync(join(values.out!, `${name}.jpg`), c.photo);
  await sharp(c.mask, { raw: { width: c.width, height: c.height, channels: 1 } }).png().toFile(join(values.out!, `${name}.mask.png`));
  manifest.push({ index: c.index, class: c.cls, product: c.product, photo: `${name}.jpg`, mask: `${name}.mask.png`, width: c.width, height: c.height });
}
writeFileSync(join(values.out!, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
console.log(`${count} pictures in ${values.out}`);
