/**
 * Text on cards, compared per text box with reference images (test/fixtures/text/): Latin
 * (kerning), Cyrillic, right-to-left (Hebrew title, Arabic feature: shaped and ordered by
 * Pango/HarfBuzz/FriBidi), and the emoji case (refused up front; the renderer drops them).
 * Each box is cut out of the rendered card and compared on its own, so one wrong word fails.
 * After an intended change of the text stack, rewrite the references with:
 *   UPDATE_REFERENCES=1 node --import tsx --test test/text-boxes.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { layout, measureContent } from '../src/cards/designs.ts';
import { prepareContent, renderCard, type CardInput } from '../src/cards/render.ts';
import { samplePhoto } from '../src/cards/sample.ts';
import { describeChars, unsupportedChars } from '../src/cards/text.ts';
import { drawBox, measure, measureWords } from '../src/cards/typeset.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/text/', import.meta.url));
const UPDATE = process.env.UPDATE_REFERENCES === '1';

type Input = Omit<CardInput, 'photo'>;
const CASES: Record<string, Input> = {
  latin: { title: 'AVATAR Wave office travel mug', features: ['Double wall keeps tea hot for 6 hours', 'Fits car cup holders'], price: '$14.90', template: 'clean' },
  cyrillic: { title: 'Термокружка «Утро» 450 мл', features: ['Держит тепло 6 часов', 'Крышка не протекает'], price: '1290', template: 'clean' },
  rtl: { title: 'ספל תרמי לקפה ותה 450 מ״ל', features: ['שומר על חום 6 שעות', 'يحافظ على حرارة الشاي'], price: '1290', template: 'clean' },
  emoji: { title: 'Кружка ☕ 350 мл 🔥', features: ['Подарок 🎁 к празднику'], price: '990', template: 'promo' },
};

interface Box { name: string; data: Buffer; width: number; height: number }

/** The card's text boxes (its layers that carry text), cut out of the rendered card. */
async function textBoxes(input: Input): Promise<Box[]> {
  const content = prepareContent(input);
  await measureContent(content);
  const scene = layout(input.template, content);
  const card = await renderCard({ photo, ...input });
  const boxes: Box[] = [];
  for (const [i, l] of scene.layers.entries()) {
    if (!l.text.length) continue;
    const region = { left: Math.floor(l.x), top: Math.floor(l.y), width: Math.ceil(l.width), height: Math.ceil(l.height) };
    const { data, info } = await sharp(card.jpeg).extract(region).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    boxes.push({ name: `layer${i}`, data, width: info.width, height: info.height });
  }
  return boxes;
}

/** Share of pixels that differ clearly (any channel by more than 48 of 255): JPEG noise stays far below 0.3 %. */
function differing(a: Box, b: Box): number {
  assert.equal(a.width, b.width, 'box width');
  assert.equal(a.height, b.height, 'box height');
  let n = 0;
  for (let p = 0; p < a.width * a.height; p++) {
    const i = p * 3;
    if (Math.abs(a.data[i] - b.data[i]) > 48 || Math.abs(a.data[i + 1] - b.data[i + 1]) > 48 || Math.abs(a.data[i + 2] - b.data[i + 2]) > 48) n++;
  }
  return n / (a.width * a.height);
}

async function reference(file: string): Promise<Box> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { name: file, data, width: info.width, height: info.height };
}

const LIMIT = 0.003;
let photo: Buffer;
before(async () => {
  photo = await samplePhoto(1200, 1500);
});

describe('text boxes match their references', () => {
  for (const [name, input] of Object.entries(CASES)) {
    it(`${name}: every text box matches test/fixtures/text/${name}-*.png`, async () => {
      const boxes = await textBoxes(input);
      assert.ok(boxes.length >= 3, 'title, features and price boxes');
      for (const b of boxes) {
        const file = `${FIXTURES}${name}-${b.name}.png`;
        if (UPDATE) {
          mkdirSync(FIXTURES, { recursive: true });
          await sharp(b.data, { raw: { width: b.width, height: b.height, channels: 3 } }).png().toFile(file);
        }
        assert.ok(existsSync(file), `missing ${file}; run with UPDATE_REFERENCES=1 once`);
        const d = differing(b, await reference(file));
        assert.ok(d < LIMIT, `${name} ${b.name}: ${(d * 100).toFixed(2)} % of pixels differ from ${file}`);
      }
    });
  }

  it('one wrong word in the title fails its box', async () => {
    const wrong = await textBoxes({ ...CASES.cyrillic, title: 'Термокружка «Вечер» 450 мл' });
    const d = differing(wrong[0], await reference(`${FIXTURES}cyrillic-${wrong[0].name}.png`));
    assert.ok(d > 10 * LIMIT, `a changed word changes ${(d * 100).toFixed(2)} % of the title box`);
  });
});

describe('what the fonts cannot draw is refused before confirm', () => {
  it('names emoji and missing characters, once each', () => {
    assert.deepEqual(unsupportedChars(CASES.emoji.title), ['☕', '🔥']);
    assert.deepEqual(unsupportedChars('Флаг 🇷🇺, звезда ⭐️, сердце ❤️, знак ©®™ и \uE000'), ['🇷', '🇺', '⭐', '❤', '\uE000']);
    assert.deepEqual(unsupportedChars('Обычный текст — 100 % «хлопок» № 5, שלום, سلام'), []);
    assert.equal(describeChars(['☕', '\uE000']), '☕ (U+2615), \uE000 (U+E000)');
  });

  it('the renderer drops them (an old order or AI copy): the emoji card equals the card without them', async () => {
    const without = await textBoxes({ ...CASES.emoji, title: 'Кружка 350 мл', features: ['Подарок к празднику'] });
    const withEmoji = await textBoxes(CASES.emoji);
    for (let i = 0; i < without.length; i++) assert.ok(differing(without[i], withEmoji[i]) < LIMIT);
  });
});

describe('shaping and markup', () => {
  it('kerns: "AVAV" is narrower than its letters set apart', async () => {
    await measureWords('bold', ['AVAV', 'A', 'V']);
    assert.ok(measure('bold', 'AVAV', 100) < 2 * (measure('bold', 'A', 100) + measure('bold', 'V', 100)) - 10);
  });

  it("escapes the seller's text: tags and entities are drawn as typed, never parsed", async () => {
    const box = (line: string) => drawBox({ lines: [line], font: 'regular', size: 40, lineHeight: 48, tracking: 0, fill: '#000000', align: 'left', x: 0, boxWidth: 2000, baseline: 40 });
    const [plain] = await box('Tom Jerry');
    const [tagged] = await box('Tom <b>&amp; Jerry</b> & <span foreground="red">');
    assert.ok(plain && tagged);
    assert.ok(tagged.mask.width > 3 * plain.mask.width, 'the tags are visible text');
  });
});
