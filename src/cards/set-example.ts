/**
 * Writes docs/set-example/: a real set made by the local path (no keys, no network) from a
 * cluttered phone-style photo of the synthetic cut-out set — the photo as sent, what the
 * cut-out gate decided, the 3 variants of the main picture, and the slides of the set after
 * the marketplace check. Pictures are scaled down for the README; `--full` keeps 900×1200.
 *   node --import tsx src/cards/set-example.ts [--index 23] [--marketplace wb|ozon] [--full]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { synthCase } from './cutout/synth.ts';
import { cutoutStage, setStage, variantsStage } from './generation.ts';
import { isMarketplaceId } from './marketplaces/presets.ts';
import { SAMPLE_TEXT } from './sample.ts';

const { values: args } = parseArgs({
  options: { index: { type: 'string', default: '23' }, marketplace: { type: 'string', default: 'wb' }, full: { type: 'boolean', default: false } },
});
const marketplace = args.marketplace;
if (!isMarketplaceId(marketplace)) throw new Error(`--marketplace must be wb or ozon, got "${marketplace}"`);
const dir = fileURLToPath(new URL('../../docs/set-example/', import.meta.url));
await mkdir(dir, { recursive: true });

const small = (jpeg: Buffer) => (args.full ? jpeg : sharp(jpeg).resize({ width: 360 }).jpeg({ quality: 82, mozjpeg: true }).toBuffer());
const put = async (name: string, jpeg: Buffer) => {
  const out = await small(jpeg);
  await writeFile(dir + name, out);
  console.log(`${name}: ${(out.length / 1024).toFixed(0)} KB`);
};

// A phone's photo size (12 MP class), so the product is not upscaled onto the 900×1200 card.
const photo = await synthCase(Number(args.index), { width: 2400, height: 3200 });
if (photo.cls !== 'cluttered') console.warn(`picture ${photo.index} is ${photo.cls}, not cluttered`);
await put('before.jpg', photo.photo);

const t0 = performance.now();
const cut = await cutoutStage(photo.photo);
const t1 = performance.now();
console.log(cut.framedReason ? `cut-out refused by the gate (${cut.framedReason}): the photo is framed` : 'cut out');
const text = SAMPLE_TEXT.ru;
const template = 'clean';
const variants = await variantsStage(cut.png, { template, marketplace, title: text.title });
const t2 = performance.now();
for (const v of variants) await put(`variant-${v.n}.jpg`, v.jpeg);
const set = await setStage({ cutPng: cut.png, mainJpeg: variants[0].jpeg, ...text, template, marketplace });
const t3 = performance.now();
for (const [i, s] of set.slides.entries()) await put(`slide-${i + 1}-${s.role}.jpg`, s.jpeg);
console.log(JSON.stringify({
  picture: photo.index, cls: photo.cls, product: photo.product, framed: cut.framedReason, marketplace,
  cutoutMs: Math.round(t1 - t0), variantsMs: Math.round(t2 - t1), setMs: Math.round(t3 - t2),
  warnings: set.warnings.map((w) => w.code),
}));
