/**
 * Writes docs/card-example*.jpg: real cards from the renderer, made from the
 * generated sample photo with Russian words and a price in ₽.
 *   node --import tsx src/cards/example.ts
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderCard } from './render.ts';
import { SAMPLE_TEXT, samplePhoto } from './sample.ts';
import { TEMPLATE_IDS } from './templates.ts';

const docs = fileURLToPath(new URL('../../docs/', import.meta.url));
const photo = await samplePhoto(1200, 1500);
const text = SAMPLE_TEXT.ru;
const price = '1 290 руб.';

for (const template of TEMPLATE_IDS) {
  const card = await renderCard({ photo, ...text, price, template });
  const name = template === 'clean' ? 'card-example.jpg' : `card-example-${template}.jpg`;
  await writeFile(docs + name, card.jpeg);
  console.log(`${name}: ${card.width}×${card.height}, ${(card.jpeg.length / 1024).toFixed(0)} KB`);
}
