/**
 * Check finished slides against a marketplace preset before delivery. Pixels and
 * bytes are checked from the file itself; what a slide shows (text, a price) is
 * declared by whoever composed it, since the composer placed every word: reading
 * it back from pixels would only guess.
 */
import sharp, { type Metadata } from 'sharp';
import { sniffFormat } from '../photo.ts';
import { PRESETS, type MarketplaceId, type Severity, type SlideRole } from './presets.ts';

export interface Slide {
  role: SlideRole;
  /** The encoded file as it will be delivered. */
  bytes: Buffer;
  /** What the composer drew on it besides the product. */
  shows: { text: boolean; price: boolean };
}

export type ViolationCode =
  | 'not_image'
  | 'format'
  | 'too_small'
  | 'too_large_side'
  | 'aspect'
  | 'file_size'
  | 'colour_space'
  | 'too_few_slides'
  | 'too_many_slides'
  | 'main_not_first'
  | 'text_on_main'
  | 'price_on_main'
  | 'price';

export interface Violation {
  /** Index of the slide in the set; -1 for the set as a whole. */
  slide: number;
  code: ViolationCode;
  severity: Severity;
  message: string;
}

async function checkSlide(s: Slide, i: number, id: MarketplaceId): Promise<Violation[]> {
  const p = PRESETS[id];
  const out: Violation[] = [];
  const err = (code: ViolationCode, message: string, severity: Severity = 'error') => out.push({ slide: i, code, severity, message });
  const format = sniffFormat(s.bytes);
  if (!format) {
    err('not_image', 'not an image file');
    return out;
  }
  if (!(p.formats as readonly string[]).includes(format)) err('format', `${format} is not accepted by ${p.name} (${p.formats.join(', ')})`);
  if (s.bytes.length > p.maxBytes) err('file_size', `${(s.bytes.length / 1048576).toFixed(1)} MB is over ${p.name}'s ${p.maxBytes / 1048576} MB`);
  let meta: Metadata;
  try {
    meta = await sharp(s.bytes).metadata();
  } catch {
    err('not_image', 'the file does not decode');
    return out;
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w < p.minWidth || h < p.minHeight) err('too_small', `${w}×${h} is under ${p.minWidth}×${p.minHeight}`);
  if (Math.max(w, h) > p.maxSide) err('too_large_side', `${w}×${h}: a side is over ${p.maxSide}`);
  if (h > 0 && Math.abs(w / h - p.aspect) > p.aspectTolerance) err('aspect', `${w}×${h} is not 3:4`);
  if (meta.space && meta.space !== 'srgb' && meta.space !== 'b-w') err('colour_space', `colour space ${meta.space}, not sRGB`);
  if (s.role === 'main') {
    if (s.shows.text && p.main.text) err('text_on_main', `${p.name}'s main picture may not carry captions`, p.main.text);
    if (s.shows.price && p.main.price) err('price_on_main', `${p.name}'s main picture may not carry a price`, p.main.price);
  } else if (s.shows.price && p.any.price) {
    err('price', `${p.name} does not allow prices on pictures`, p.any.price);
  }
  return out;
}

/** Every violation of the set (empty = compliant). Errors block delivery; warnings are for the seller. */
export async function validateSlides(id: MarketplaceId, slides: Slide[]): Promise<Violation[]> {
  const p = PRESETS[id];
  if (!p) throw new TypeError(`unknown marketplace: ${String(id)}`);
  const out: Violation[] = [];
  if (slides.length < p.minSlides) out.push({ slide: -1, code: 'too_few_slides', severity: 'error', message: `${p.name} needs at least ${p.minSlides} picture(s)` });
  if (slides.length > p.maxSlides) out.push({ slide: -1, code: 'too_many_slides', severity: 'error', message: `${p.name} takes at most ${p.maxSlides} pictures` });
  slides.forEach((s, i) => {
    if ((s.role === 'main') !== (i === 0)) out.push({ slide: i, code: 'main_not_first', severity: 'error', message: 'the main picture must be the first, and only the first' });
  });
  for (const [i, s] of slides.entries()) out.push(...(await checkSlide(s, i, id)));
  return out;
}

export const blocking = (vs: Violation[]) => vs.filter((v) => v.severity === 'error');
