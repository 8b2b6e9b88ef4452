// The wb/ozon presets and the slide validator: a compliant set passes, and each kind
// of violation (size, aspect, file size, format, text or a price on Ozon's main picture,
// slide order and count) is caught.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { PRESETS } from '../src/cards/marketplaces/presets.ts';
import { blocking, validateSlides, type Slide } from '../src/cards/marketplaces/validate.ts';
import { renderCard } from '../src/cards/render.ts';
import { SAMPLE_TEXT, samplePhoto } from '../src/cards/sample.ts';

const plain = (w: number, h: number, format: 'jpeg' | 'png' | 'webp' = 'jpeg') =>
  sharp({ create: { width: w, height: h, channels: 3, background: '#f4f4f4' } })[format]().toBuffer();

/** Random pixels: a file as large as the format makes it. */
async function noisy(w: number, h: number): Promise<Buffer> {
  const px = Buffer.allocUnsafe(w * h * 3);
  let s = 1;
  for (let i = 0; i < px.length; i++) px[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 100 }).toBuffer();
}

const main = (bytes: Buffer, shows = { text: false, price: false }): Slide => ({ role: 'main', bytes, shows });
const info = (bytes: Buffer): Slide => ({ role: 'infographic', bytes, shows: { text: true, price: false } });
const codes = (vs: { code: string }[]) => vs.map((v) => v.code).sort();

test('a compliant set passes both presets: clean main, then a rendered infographic card', async () => {
  const card = await renderCard({ photo: await samplePhoto(900, 1200), ...SAMPLE_TEXT.ru, price: null, template: 'clean' });
  const slides = [main(await plain(900, 1200)), info(card.jpeg)];
  assert.deepEqual(await validateSlides('ozon', slides), []);
  assert.deepEqual(await validateSlides('wb', slides), []);
});

test('wrong size, aspect, format and file size are caught', async () => {
  assert.deepEqual(codes(await validateSlides('wb', [main(await plain(600, 800))])), ['too_small']);
  assert.deepEqual(codes(await validateSlides('ozon', [main(await plain(1200, 1200))])), ['aspect']);
  assert.deepEqual(codes(await validateSlides('ozon', [main(await plain(900, 1200, 'webp'))])), ['format']);
  assert.deepEqual(codes(await validateSlides('wb', [main(await plain(6000, 8001))])), ['too_large_side']);
  const big = await noisy(1800, 2400);
  assert.ok(big.length > PRESETS.ozon.maxBytes, `test file is ${big.length} bytes`);
  assert.deepEqual(codes(await validateSlides('ozon', [main(big)])), ['file_size']);
  assert.deepEqual(codes(await validateSlides('ozon', [main(Buffer.from('not an image at all'))])), ['not_image']);
});

test("text or a price on Ozon's main picture blocks delivery; on WB a price is only a warning", async () => {
  const card = await renderCard({ photo: await samplePhoto(900, 1200), ...SAMPLE_TEXT.ru, template: 'clean' });
  const ozon = await validateSlides('ozon', [main(card.jpeg, { text: true, price: true })]);
  assert.deepEqual(codes(blocking(ozon)), ['price_on_main', 'text_on_main']);
  const wb = await validateSlides('wb', [main(card.jpeg, { text: true, price: true })]);
  assert.deepEqual(codes(blocking(wb)), []);
  assert.deepEqual(codes(wb), ['price_on_main']);
  // The same card as a later slide is fine on Ozon.
  const later = await validateSlides('ozon', [main(await plain(900, 1200)), { role: 'infographic', bytes: card.jpeg, shows: { text: true, price: true } }]);
  assert.deepEqual(later, []);
});

test('the set: main first and only first, at most 30 pictures', async () => {
  const img = await plain(900, 1200);
  assert.deepEqual(codes(await validateSlides('ozon', [info(img), main(img)])), ['main_not_first', 'main_not_first']);
  const many = [main(img), ...Array.from({ length: 30 }, () => info(img))];
  assert.deepEqual(codes(await validateSlides('wb', many)), ['too_many_slides']);
  assert.deepEqual(codes(await validateSlides('wb', [])), ['too_few_slides']);
});
