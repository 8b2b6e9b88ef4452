/**
 * The local card renderer: format, orientation, text fitting, fonts, bad photos,
 * and comparison with committed reference cards.
 *
 * Reference cards live in test/fixtures/cards/. After an intended design change,
 * rewrite them with:  UPDATE_REFERENCES=1 node --import tsx --test test/cards.test.ts
 * and look at them before committing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bombPng } from './support/hostile-files.ts';
import sharp from 'sharp';
import { DESIGN_HEIGHT, DESIGN_WIDTH, layout, measureContent } from '../src/cards/designs.ts';
import { fontHas } from '../src/cards/fonts.ts';
import { measure, measureWords } from '../src/cards/typeset.ts';
import { BadPhotoError, inspectPhoto, placePhoto, PHOTO_LIMITS, type BadPhotoCode } from '../src/cards/photo.ts';
import { renderPreview } from '../src/cards/preview.ts';
import { CARD_SIZES, prepareContent, renderCard, warmUp, type CardInput } from '../src/cards/render.ts';
import { SAMPLE_TEXT, samplePhoto } from '../src/cards/sample.ts';
import { TEMPLATES, TEMPLATE_IDS, isTemplateId, type TemplateId } from '../src/cards/templates.ts';
import { cleanText, fitBlock, formatPrice, TITLE_MAX_CHARS, unsupportedChars } from '../src/cards/text.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/cards/', import.meta.url));
const UPDATE = process.env.UPDATE_REFERENCES === '1';

interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

async function pixels(jpeg: Buffer): Promise<Pixels> {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function meanAbsDiff(a: Pixels, b: Pixels): number {
  assert.equal(a.data.length, b.data.length);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i]);
  return sum / a.data.length;
}

/** Mean absolute difference over a rectangle. */
function regionDiff(a: Pixels, b: Pixels, x0: number, y0: number, x1: number, y1: number): number {
  let sum = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * a.width + x) * a.channels + c;
        sum += Math.abs(a.data[i] - b.data[i]);
        n++;
      }
    }
  }
  return sum / n;
}

const LONG = (s: string, n: number) => Array.from({ length: Math.ceil(n / s.length) }, () => s).join('').slice(0, n);

let photo: Buffer;
let burst: Promise<string>;

before(async () => {
  // The memory check runs in its own process (a clean RSS), started first so it overlaps the other tests.
  burst = new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('../src/cards/bench.ts', import.meta.url)), '--count', '40', '--concurrency', '25'],
      { env: { ...process.env, MALLOC_ARENA_MAX: '2' }, timeout: 60_000 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
  burst.catch(() => {});
  await warmUp();
  photo = await samplePhoto(1200, 1500);
});

describe('card output', () => {
  for (const template of TEMPLATE_IDS) {
    it(`${template}: 900×1200 sRGB JPEG under 10 MB`, async () => {
      const card = await renderCard({ photo, ...SAMPLE_TEXT.ru, template });
      assert.equal(card.width, 900);
      assert.equal(card.height, 1200);
      const meta = await sharp(card.jpeg).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.equal(meta.width, 900);
      assert.equal(meta.height, 1200);
      assert.equal(meta.space, 'srgb');
      assert.equal(meta.channels, 3);
      assert.equal(meta.icc, undefined, 'no profile other than the sRGB default');
      assert.ok(card.jpeg.length < 10 * 1024 * 1024);
    });
  }

  it('large size is 1200×1600 and the same design scaled', async () => {
    const large = await renderCard({ photo, ...SAMPLE_TEXT.ru, template: 'promo', size: 'large' });
    const meta = await sharp(large.jpeg).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.space], ['jpeg', 1200, 1600, 'srgb']);
    assert.deepEqual(CARD_SIZES.large, { width: 1200, height: 1600 });
    const standard = await renderCard({ photo, ...SAMPLE_TEXT.ru, template: 'promo' });
    const down = await pixels(await sharp(large.jpeg).resize(300, 400).jpeg({ quality: 95 }).toBuffer());
    const small = await pixels(await sharp(standard.jpeg).resize(300, 400).jpeg({ quality: 95 }).toBuffer());
    assert.ok(meanAbsDiff(down, small) < 4, 'large looks like standard');
  });

  it('is deterministic', async () => {
    const a = await renderCard({ photo, ...SAMPLE_TEXT.ru, template: 'clean' });
    const b = await renderCard({ photo, ...SAMPLE_TEXT.ru, template: 'clean' });
    assert.ok(a.jpeg.equals(b.jpeg));
  });

  it('works without features and price, and with an empty title', async () => {
    for (const template of TEMPLATE_IDS) {
      const card = await renderCard({ photo, title: '', features: [], price: null, template });
      assert.equal((await sharp(card.jpeg).metadata()).width, 900);
    }
  });

  it('rejects an unknown template', async () => {
    await assert.rejects(renderCard({ photo, title: 'x', features: [], template: 'nope' as TemplateId }), TypeError);
  });

  it('honours an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(renderCard({ photo, title: 'x', features: [], template: 'clean' }, { signal: ac.signal }), { name: 'AbortError' });
  });
});

describe('reference cards', () => {
  const cases: Array<{ name: string; input: Omit<CardInput, 'photo'> }> = [
    ...TEMPLATE_IDS.map((template) => ({ name: template, input: { ...SAMPLE_TEXT.ru, price: '1 290 руб.', template } })),
    { name: 'clean-en-large', input: { ...SAMPLE_TEXT.en, price: '$14.90', template: 'clean' as const, size: 'large' as const } },
  ];
  for (const c of cases) {
    it(`${c.name} matches test/fixtures/cards/${c.name}.jpg`, async () => {
      const card = await renderCard({ photo, ...c.input });
      const file = `${FIXTURES}${c.name}.jpg`;
      if (UPDATE) {
        mkdirSync(FIXTURES, { recursive: true });
        writeFileSync(file, card.jpeg);
      }
      assert.ok(existsSync(file), `missing ${file}; run with UPDATE_REFERENCES=1 once`);
      const diff = meanAbsDiff(await pixels(card.jpeg), await pixels(readFileSync(file)));
      assert.ok(diff < 1.5, `mean absolute difference ${diff.toFixed(3)} ≥ 1.5`);
    });
  }
});

describe('photo orientation', () => {
  /** An upright 400×600 photo, red in the top quarter, blue below, stored rotated with EXIF orientation 6. */
  async function orientedPhoto(): Promise<Buffer> {
    const upright = await sharp({ create: { width: 400, height: 600, channels: 3, background: '#0000ff' } })
      .composite([{ input: { create: { width: 400, height: 150, channels: 3, background: '#ff0000' } }, left: 0, top: 0 }])
      .png()
      .toBuffer();
    // Orientation 6 = "rotate 90° clockwise to display": store it turned 90° anticlockwise.
    return sharp(upright).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
  }

  function centroid(p: Pixels, test: (r: number, g: number, b: number) => boolean): { x: number; y: number; n: number } {
    let sx = 0;
    let sy = 0;
    let n = 0;
    for (let y = 0; y < p.height; y++) {
      for (let x = 0; x < p.width; x++) {
        const i = (y * p.width + x) * p.channels;
        if (test(p.data[i], p.data[i + 1], p.data[i + 2])) {
          sx += x;
          sy += y;
          n++;
        }
      }
    }
    return { x: sx / n, y: sy / n, n };
  }
  const isRed = (r: number, g: number, b: number) => r > 190 && g < 70 && b < 70;
  const isBlue = (r: number, g: number, b: number) => b > 190 && r < 70 && g < 70;

  it('reads the upright size from EXIF', async () => {
    const buf = await orientedPhoto();
    const meta = await sharp(buf).metadata();
    assert.equal(meta.orientation, 6);
    assert.deepEqual([meta.width, meta.height], [600, 400]);
    const info = await inspectPhoto(buf);
    assert.deepEqual([info.width, info.height], [400, 600]);
  });

  it('places the photo upright', async () => {
    const buf = await orientedPhoto();
    const placed = await placePhoto(buf, await inspectPhoto(buf), { width: 200, height: 300, fit: 'cover', background: '#ffffff' });
    const px = (x: number, y: number) => [...placed.data.subarray((y * 200 + x) * 3, (y * 200 + x) * 3 + 3)];
    assert.ok(isRed(...(px(100, 20) as [number, number, number])), `top is red: ${px(100, 20)}`);
    assert.ok(isBlue(...(px(100, 250) as [number, number, number])), `bottom is blue: ${px(100, 250)}`);
    assert.ok(isBlue(...(px(10, 250) as [number, number, number])) && isBlue(...(px(190, 250) as [number, number, number])));
  });

  for (const template of TEMPLATE_IDS) {
    it(`${template}: the card shows the photo upright`, async () => {
      const buf = await orientedPhoto();
      const card = await pixels((await renderCard({ photo: buf, title: 'Тест', features: ['Один'], template })).jpeg);
      // Red pixels come only from the photo in clean/bold; promo's background is red-orange, so look inside the photo box.
      const scene = layout(template, prepareContent({ title: 'Тест', features: ['Один'] }));
      const k = card.width / DESIGN_WIDTH;
      const box = { x0: Math.ceil(scene.photo.x * k) + 2, y0: Math.ceil(scene.photo.y * k) + 2, x1: Math.floor((scene.photo.x + scene.photo.width) * k) - 2, y1: Math.floor((scene.photo.y + scene.photo.height) * k) - 2 };
      const inside: Pixels = { ...card, data: Buffer.from(card.data) };
      for (let y = 0; y < card.height; y++) {
        for (let x = 0; x < card.width; x++) {
          if (x < box.x0 || x >= box.x1 || y < box.y0 || y >= box.y1) inside.data.fill(128, (y * card.width + x) * 3, (y * card.width + x) * 3 + 3);
        }
      }
      const red = centroid(inside, isRed);
      const blue = centroid(inside, isBlue);
      assert.ok(red.n > 500 && blue.n > 500, `found the photo (${red.n} red, ${blue.n} blue px)`);
      assert.ok(red.y < blue.y - 30, `red band (y=${red.y.toFixed(0)}) above blue (y=${blue.y.toFixed(0)})`);
      assert.ok(Math.abs(red.x - blue.x) < 20, 'red band spans the width, not a side');
    });
  }
});

describe('text fitting', () => {
  const longInput = {
    title: LONG('Очень длинное название товара без конца и края ', 5000),
    features: Array.from({ length: 7 }, (_, i) => LONG(`Преимущество номер ${i + 1} с подробным описанием `, 400)),
    price: '12345678901234567890',
  };

  it('cuts the title to 60 characters and keeps at most 5 features', () => {
    const c = prepareContent(longInput);
    assert.ok([...c.title].length <= TITLE_MAX_CHARS);
    assert.ok(c.title.endsWith('…'));
    assert.equal(c.features.length, 5);
  });

  for (const template of TEMPLATE_IDS) {
    it(`${template}: every layer and text line stays inside the card and its box`, async () => {
      for (const input of [longInput, { title: LONG('Ж', 60), features: Array(5).fill(LONG('Ш', 80)), price: '999 999 ₽' }]) {
        const content = prepareContent(input);
        await measureContent(content);
        const scene = layout(template, content);
        const boxes = [scene.photo, ...scene.layers];
        for (const b of boxes) {
          assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.width <= DESIGN_WIDTH && b.y + b.height <= DESIGN_HEIGHT, `box inside card: ${JSON.stringify({ ...b, svg: undefined })}`);
        }
        assert.ok(scene.photo.height >= 400, `photo keeps its room (${scene.photo.height})`);
        for (const l of scene.layers) assert.ok(!l.svg.includes('<text'), 'text is typeset by Pango, never SVG <text>');
      }
    });
  }

  it('fitBlock never exceeds its box, shrinking then cutting', async () => {
    const texts = ['Короткий', LONG('Длинный заголовок ', 300), LONG('Ж', 200)];
    await measureWords('bold', [...texts, '…']);
    for (const text of texts) {
      const b = fitBlock(text, { font: 'bold', maxSize: 60, minSize: 30, maxWidth: 500, maxHeight: 200, maxLines: 3 });
      assert.ok(b.height <= 200);
      assert.ok(b.lines.length <= 3);
      for (const line of b.lines) assert.ok(measure('bold', line.text, b.size) <= 500 + 1e-6, `"${line.text}" fits`);
    }
    assert.equal(fitBlock('Короткий', { font: 'bold', maxSize: 60, minSize: 30, maxWidth: 500, maxHeight: 200, maxLines: 3 }).size, 60);
  });

  for (const template of TEMPLATE_IDS) {
    it(`${template}: with very long text the card margins stay background`, async () => {
      const plain = await sharp({ create: { width: 800, height: 800, channels: 3, background: '#808080' } }).jpeg().toBuffer();
      const short = await pixels((await renderCard({ photo: plain, title: 'Коротко', features: ['Раз'], price: '100', template })).jpeg);
      const long = await pixels((await renderCard({ photo: plain, ...longInput, template })).jpeg);
      // Bottom strip: background (clean, promo) or the static dark block (bold).
      assert.ok(regionDiff(short, long, 0, 1160, 900, 1200) < 0.5, 'bottom margin untouched');
      if (template !== 'bold') {
        // Left strip: background from top to bottom (bold's photo is full-bleed).
        assert.ok(regionDiff(short, long, 0, 0, 40, 1200) < 0.5, 'left margin untouched');
        assert.ok(regionDiff(short, long, 0, 0, 900, 36) < 0.5, 'top margin untouched');
      }
      if (template === 'clean') assert.ok(regionDiff(short, long, 860, 0, 900, 1200) < 0.5, 'right margin untouched');
    });
  }
});

describe('fonts', () => {
  const RUSSIAN = 'АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя';
  const OTHER = 'ABCXYZabcxyz0123456789₽$€%№«»—–…!?.,:;()"\'+-/&@#ЇїІіЄєҐґЎўשלוםسلام';

  it('ships fonts that have a real glyph for every character we promise', () => {
    for (const id of ['regular', 'bold'] as const) {
      for (const ch of RUSSIAN + OTHER) assert.ok(fontHas(id, ch.codePointAt(0)!), `${id} has ${ch} (U+${ch.codePointAt(0)!.toString(16)})`);
      assert.deepEqual(unsupportedChars(RUSSIAN + OTHER, id), []);
    }
  });

  it('drops characters the font lacks and emoji instead of drawing tofu', () => {
    assert.equal(cleanText('Чай\uE000\u{1F525} зелёный\u200B\n'), 'Чай зелёный');
    assert.equal(cleanText('  много   пробелов\tи\r\nстрок '), 'много пробелов и строк');
    assert.equal(cleanText('Кофе ☕️ и 😀 смайл'), 'Кофе и смайл');
  });
});

describe('price', () => {
  it('formats plain numbers as roubles and keeps other text', () => {
    const nb = '\u00a0';
    assert.equal(formatPrice('12990'), `12${nb}990${nb}₽`);
    assert.equal(formatPrice('1 290 руб.'), `1${nb}290${nb}₽`);
    assert.equal(formatPrice('990,5'), `990,50${nb}₽`);
    assert.equal(formatPrice('990.00 ₽'), `990${nb}₽`);
    assert.equal(formatPrice('$14.90'), '$14.90');
    assert.equal(formatPrice('от 500 ₽'), 'от 500 ₽');
    assert.equal(formatPrice('   '), null);
    assert.equal(formatPrice(null), null);
  });
});

describe('bad photos', () => {
  async function code(buf: Buffer): Promise<BadPhotoCode> {
    try {
      await renderCard({ photo: buf, title: 'x', features: [], template: 'clean' });
    } catch (err) {
      assert.ok(err instanceof BadPhotoError, `BadPhotoError, got ${String(err)}`);
      return err.code;
    }
    assert.fail('rendered a bad photo');
  }

  it('empty file → empty', async () => {
    assert.equal(await code(Buffer.alloc(0)), 'empty');
  });

  it('text, PDF, SVG and HEIC → not_image', async () => {
    assert.equal(await code(Buffer.from('hello, this is not a photo at all')), 'not_image');
    assert.equal(await code(Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n')), 'not_image');
    assert.equal(await code(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="900" height="900"><rect width="9" height="9"/></svg>')), 'not_image');
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1'), Buffer.alloc(64)]);
    assert.equal(await code(heic), 'not_image');
  });

  it('truncated or broken JPEG → corrupt', async () => {
    const good = await sharp({ create: { width: 600, height: 600, channels: 3, background: '#c33', noise: { type: 'gaussian', mean: 120, sigma: 40 } } })
      .jpeg()
      .toBuffer();
    assert.equal(await code(good.subarray(0, Math.floor(good.length / 2))), 'corrupt');
    assert.equal(await code(good.subarray(0, 200)), 'corrupt');
  });

  it('decompression bomb → too_large_pixels, fast', async () => {
    const bomb = await bombPng();
    assert.ok(bomb.length < 1024 * 1024);
    const rssBefore = process.memoryUsage().rss;
    const t = performance.now();
    assert.equal(await code(bomb), 'too_large_pixels');
    assert.ok(performance.now() - t < 500, 'rejected without decoding');
    assert.ok(process.memoryUsage().rss - rssBefore < 100 * 1024 * 1024, 'no large allocation');
  });

  it('over 50 megapixels → too_large_pixels; over the byte limit → too_large_bytes', async () => {
    assert.equal(PHOTO_LIMITS.maxPixels, 50_000_000);
    const huge = Buffer.alloc(PHOTO_LIMITS.maxBytes + 1);
    huge.set([0xff, 0xd8, 0xff, 0xe0]);
    assert.equal(await code(huge), 'too_large_bytes');
  });

  it('animated GIF/WebP → animated; a still GIF is fine', async () => {
    const f1 = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#3a7' } }).png().toBuffer();
    const f2 = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#a37' } }).png().toBuffer();
    for (const frames of [
      await sharp([f1, f2], { join: { animated: true } }).gif().toBuffer(),
      await sharp([f1, f2], { join: { animated: true } }).webp().toBuffer(),
    ]) {
      assert.equal((await sharp(frames).metadata()).pages, 2);
      assert.equal(await code(frames), 'animated');
    }
    const still = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#3a7' } }).gif().toBuffer();
    const card = await renderCard({ photo: still, title: 'Гифка', features: [], template: 'bold' });
    assert.equal((await sharp(card.jpeg).metadata()).format, 'jpeg');
  });

  it('tiny image → too_small', async () => {
    const tiny = await sharp({ create: { width: 60, height: 60, channels: 3, background: '#abc' } }).png().toBuffer();
    assert.equal(await code(tiny), 'too_small');
  });

  it('PNG with transparency, greyscale, 16-bit PNG, CMYK JPEG, WebP, AVIF and TIFF render as sRGB', async () => {
    const cutout = await sharp({ create: { width: 500, height: 500, channels: 4, background: { r: 200, g: 30, b: 30, alpha: 0 } } })
      .composite([{ input: { create: { width: 200, height: 300, channels: 4, background: '#2255cc' } }, left: 150, top: 100 }])
      .png()
      .toBuffer();
    const grey = await sharp({ create: { width: 500, height: 400, channels: 3, background: '#777' } }).greyscale().jpeg().toBuffer();
    const webp = await sharp({ create: { width: 500, height: 400, channels: 3, background: '#9a5' } }).webp().toBuffer();
    const solid = () => sharp({ create: { width: 500, height: 400, channels: 3, background: '#a53' } });
    const png16 = await solid().toColourspace('rgb16').png().toBuffer();
    const cmyk = await solid().toColourspace('cmyk').jpeg().toBuffer();
    const avif = await solid().avif().toBuffer();
    const tiff = await solid().tiff().toBuffer();
    for (const buf of [png16, cmyk, avif, tiff]) {
      const info = await inspectPhoto(buf);
      const placed = await placePhoto(buf, info, { width: 250, height: 200, fit: 'cover', background: '#ffffff' });
      const centre = [...placed.data.subarray((100 * 250 + 125) * 3, (100 * 250 + 125) * 3 + 3)];
      assert.ok(Math.abs(centre[0] - 0xaa) < 6 && Math.abs(centre[1] - 0x55) < 10 && Math.abs(centre[2] - 0x33) < 26, `${info.format}: ${centre}`);
    }
    for (const buf of [cutout, grey, webp, png16, cmyk, avif, tiff]) {
      const meta = await sharp((await renderCard({ photo: buf, title: 'Фото', features: ['а'], template: 'clean' })).jpeg).metadata();
      assert.deepEqual([meta.width, meta.space, meta.channels], [900, 'srgb', 3]);
    }
  });
});

describe('templates and previews', () => {
  it('lists at least three templates with ru/en names', () => {
    assert.ok(TEMPLATES.length >= 3);
    for (const t of TEMPLATES) {
      assert.ok(isTemplateId(t.id));
      assert.ok(t.name.ru && t.name.en && t.description.ru && t.description.en);
    }
    assert.equal(isTemplateId('nope'), false);
  });

  it('renders a 300×400 preview per template, all different', async () => {
    const previews = await Promise.all(TEMPLATE_IDS.map((t) => renderPreview(t)));
    const decoded = await Promise.all(previews.map(pixels));
    for (const p of decoded) assert.deepEqual([p.width, p.height], [300, 400]);
    assert.ok(meanAbsDiff(decoded[0], decoded[1]) > 20);
    assert.ok(meanAbsDiff(decoded[1], decoded[2]) > 20);
    assert.ok(meanAbsDiff(decoded[0], decoded[2]) > 20);
    assert.equal(await renderPreview('clean'), previews[0], 'cached');
    const en = await renderPreview('clean', { lang: 'en', width: 150 });
    assert.deepEqual([(await sharp(en).metadata()).width, (await sharp(en).metadata()).height], [150, 200]);
  });
});

describe('speed and memory', () => {
  it('a burst of 25 concurrent renders stays under 250 MB RSS (child process, MALLOC_ARENA_MAX=2)', async () => {
    const result = JSON.parse((await burst).trim().split('\n').pop()!);
    assert.equal(result.concurrency, 25);
    assert.ok(result.peakRssMb < 250, `peak RSS ${result.peakRssMb} MB`);
  });

  it('renders a 900×1200 card well within budget (smoke check; see the report for real numbers)', async () => {
    const input = await sharp(await samplePhoto(1280, 960)).jpeg({ quality: 87 }).toBuffer();
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      await renderCard({ photo: input, ...SAMPLE_TEXT.ru, template: TEMPLATE_IDS[i % 3] });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    assert.ok(times[7] < 250, `median ${times[7].toFixed(1)} ms`);
  });
});

