/**
 * The fonts shipped in src/cards/fonts/ (DejaVu Sans, Sans Bold: Latin, Cyrillic,
 * Greek, Hebrew, Arabic, digits, ₽) and what they can draw. Text is shaped and drawn by
 * Pango + HarfBuzz + FriBidi + FreeType inside sharp's libvips (typeset.ts) from these
 * files, never from system fonts: characters outside coverage.json are refused up front
 * (unsupportedChars) or dropped (cleanText), so fontconfig never falls back to another font.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type FontId = 'regular' | 'bold';

export const FONT_DIR = fileURLToPath(new URL('./fonts/', import.meta.url));
export const FONT_FILES: Readonly<Record<FontId, string>> = {
  regular: 'DejaVuSans.ttf',
  bold: 'DejaVuSans-Bold.ttf',
};
/** Pango font descriptions (family and style) of the shipped files. */
export const PANGO_FONTS: Readonly<Record<FontId, string>> = {
  regular: 'DejaVu Sans',
  bold: 'DejaVu Sans Bold',
};

/** Font-unit metrics of DejaVu Sans (both weights, 2048 units per em) the layout needs. */
export const METRICS = {
  /** Top of U+2588 FULL BLOCK above the baseline, in em: the invisible anchor typeset.ts positions lines by. */
  blockTop: 1921 / 2048,
  /** Advance of a space, in em. */
  space: { regular: 651 / 2048, bold: 713 / 2048 } as Record<FontId, number>,
};

type Ranges = Array<[number, number]>;
/** Code points each font draws, generated from the fonts' cmaps by scripts/font-coverage.mjs. */
const COVERAGE = JSON.parse(readFileSync(FONT_DIR + 'coverage.json', 'utf8')) as Record<FontId, Ranges>;

/** Whether the font has a glyph for this code point (binary search over sorted ranges). */
export function fontHas(font: FontId, cp: number): boolean {
  const r = COVERAGE[font];
  let lo = 0;
  let hi = r.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < r[mid][0]) hi = mid - 1;
    else if (cp > r[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * Emoji are refused, not drawn: DejaVu has monochrome glyphs for some, but a seller
 * typing 🔥 expects colour, and no small commercially licensed colour font renders
 * through this stack. Emoji_Presentation covers pictographs, flags (regional
 * indicators) and skin tones; a character followed by VS16 (U+FE0F) asks for emoji
 * style (☺️, keycap 1️⃣) and is refused too; ©, ®, ™ and arrows stay text.
 */
const EMOJI = /\p{Emoji_Presentation}|.\uFE0F|\u20E3/gu;

export function emojiIn(text: string): string[] {
  return [...text.matchAll(EMOJI)].map((m) => m[0].replace(/\uFE0F/g, ''));
}

/** `text` without its emoji (each becomes a space). */
export function stripEmoji(text: string): string {
  return text.replace(EMOJI, ' ');
}
