/**
 * The fonts shipped in src/cards/fonts/ (DejaVu Sans, Sans Bold: Latin, Cyrillic,
 * digits, ₽) and the glyph data we typeset with. Text is measured with the font's own
 * metrics and drawn as SVG outlines, so rendering never depends on system fonts or
 * fontconfig: the same input gives the same pixels on every machine.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TrueTypeFont } from './ttf.ts';

export type FontId = 'regular' | 'bold';

export const FONT_DIR = fileURLToPath(new URL('./fonts/', import.meta.url));
export const FONT_FILES: Readonly<Record<FontId, string>> = {
  regular: 'DejaVuSans.ttf',
  bold: 'DejaVuSans-Bold.ttf',
};

export interface GlyphBounds {
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

interface GlyphInfo {
  index: number;
  /** Advance width in font units. */
  advance: number;
}

export class Face {
  readonly upm: number;
  private readonly chars = new Map<string, GlyphInfo | null>();
  private readonly paths = new Map<number, string>();
  private readonly boxes = new Map<number, GlyphBounds | null>();

  constructor(
    readonly id: FontId,
    readonly font: TrueTypeFont,
  ) {
    this.upm = font.unitsPerEm;
  }

  /** Glyph for one code point, or null when the font has none (.notdef). */
  glyph(ch: string): GlyphInfo | null {
    let info = this.chars.get(ch);
    if (info === undefined) {
      const index = this.font.glyphIndex(ch.codePointAt(0) ?? 0);
      info = index > 0 ? { index, advance: this.font.advance(index) } : null;
      this.chars.set(ch, info);
    }
    return info;
  }

  has(ch: string): boolean {
    return this.glyph(ch) !== null;
  }

  kern(left: number, right: number): number {
    return this.font.kern(left, right);
  }

  /** Outline of a glyph in font units, y pointing down, baseline at y=0. */
  pathData(index: number): string {
    let d = this.paths.get(index);
    if (d === undefined) {
      d = this.font.pathData(index);
      this.paths.set(index, d);
    }
    return d;
  }

  /** Bounding box of a glyph's outline in font units (y up); null when it draws nothing. */
  bounds(index: number): GlyphBounds | null {
    let b = this.boxes.get(index);
    if (b === undefined) {
      b = null;
      // The on- and off-curve points bound a quadratic outline.
      for (const c of this.font.contours(index)) {
        for (const p of c) {
          if (!b) b = { xMin: p.x, yMin: p.y, xMax: p.x, yMax: p.y };
          else {
            if (p.x < b.xMin) b.xMin = p.x;
            if (p.x > b.xMax) b.xMax = p.x;
            if (p.y < b.yMin) b.yMin = p.y;
            if (p.y > b.yMax) b.yMax = p.y;
          }
        }
      }
      this.boxes.set(index, b);
    }
    return b;
  }

  /**
   * Width of `text` in font units; `tracking` is extra space between letters in
   * font units. Characters the font lacks are skipped (callers strip them first).
   */
  advance(text: string, tracking = 0): number {
    let width = 0;
    let prev = -1;
    let count = 0;
    for (const ch of text) {
      const g = this.glyph(ch);
      if (!g) continue;
      if (prev >= 0) width += this.kern(prev, g.index);
      width += g.advance;
      prev = g.index;
      count++;
    }
    return count > 1 ? width + tracking * (count - 1) : width;
  }

  /** Width in pixels (design units) at `size`, `tracking` in em. */
  measure(text: string, size: number, tracking = 0): number {
    return (this.advance(text, tracking * this.upm) * size) / this.upm;
  }
}

const faces = new Map<FontId, Face>();

export function face(id: FontId): Face {
  let f = faces.get(id);
  if (!f) {
    f = new Face(id, new TrueTypeFont(readFileSync(FONT_DIR + FONT_FILES[id])));
    faces.set(id, f);
  }
  return f;
}

/** Load both fonts now instead of on the first card. */
export function loadFonts(): void {
  face('regular');
  face('bold');
}

/**
 * Collects the glyph outlines one SVG document uses, so that each outline is
 * written once in <defs> and every occurrence is a cheap <use>.
 */
export class GlyphSet {
  private readonly used = new Map<string, string>();

  ref(f: Face, index: number): string {
    const id = `${f.id[0]}${index}`;
    if (!this.used.has(id)) this.used.set(id, f.pathData(index));
    return id;
  }

  defs(): string {
    let out = '<defs>';
    for (const [id, d] of this.used) out += `<path id="${id}" d="${d}"/>`;
    return out + '</defs>';
  }
}

export type Align = 'left' | 'center' | 'right';

/** One line set in a face: its left edge, the scale (design units per font unit) and each drawn glyph's pen position in font units. */
export interface SetLine {
  left: number;
  scale: number;
  glyphs: Array<{ index: number; pen: number }>;
}

/** Lay out one line; x is the left edge, centre or right edge according to `align`. */
export function setLine(f: Face, text: string, x: number, size: number, align: Align = 'left', tracking = 0): SetLine {
  const trackUnits = tracking * f.upm;
  const scale = size / f.upm;
  const width = f.advance(text, trackUnits) * scale;
  const left = align === 'left' ? x : align === 'center' ? x - width / 2 : x - width;
  const glyphs: SetLine['glyphs'] = [];
  let pen = 0;
  let prev = -1;
  for (const ch of text) {
    const g = f.glyph(ch);
    if (!g) continue;
    if (prev >= 0) pen += f.kern(prev, g.index) + trackUnits;
    if (ch !== ' ' && ch !== '\u00a0') glyphs.push({ index: g.index, pen: Math.round(pen) });
    pen += g.advance;
    prev = g.index;
  }
  return { left, scale, glyphs };
}

/**
 * SVG for one line of text. (x, baseline) in design units; x is the left edge,
 * centre or right edge according to `align`.
 */
export function svgTextLine(
  glyphs: GlyphSet,
  f: Face,
  text: string,
  x: number,
  baseline: number,
  size: number,
  fill: string,
  align: Align = 'left',
  tracking = 0,
): string {
  const line = setLine(f, text, x, size, align, tracking);
  let out = `<g fill="${fill}" transform="translate(${r2(line.left)} ${r2(baseline)}) scale(${line.scale.toFixed(5)})">`;
  for (const g of line.glyphs) out += `<use xlink:href="#${glyphs.ref(f, g.index)}" x="${g.pen}"/>`;
  return out + '</g>';
}

function r2(n: number): string {
  return (Math.round(n * 100) / 100).toString();
}
