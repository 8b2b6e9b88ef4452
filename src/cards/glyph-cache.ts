/**
 * Glyph bitmaps (alpha masks), cached by face, glyph, pixel size and sub-pixel phase.
 * Cards repeat the same few hundred glyphs at a few sizes, and rasterising their
 * outlines again for every card was a third of its CPU. A card's missing glyphs are
 * rasterised together in ONE librsvg call (an atlas), so the pixels are the same
 * anti-aliasing as drawing the outlines in place, within a quarter pixel of position.
 */
import sharp from 'sharp';
import { face, type FontId } from './fonts.ts';

/** Sub-pixel phases per pixel on each axis: positions are rounded to 1/4 px. */
const PHASES = 4;
/** Bound on cached masks (~1 KB each at body sizes); the oldest go first. */
const MAX_ENTRIES = 20_000;
const ATLAS_WIDTH = 2048;

export interface GlyphMask {
  /** Coverage 0-255, width × height. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Top-left of the mask relative to the whole-pixel origin it was made for. */
  dx: number;
  dy: number;
}

/** One glyph to draw: origin on the baseline in pixels, size in pixels per em. */
export interface GlyphDraw {
  font: FontId;
  index: number;
  size: number;
  x: number;
  y: number;
}

/** A mask and where its top-left goes, in whole pixels. */
export interface PlacedMask {
  mask: GlyphMask;
  left: number;
  top: number;
}

const cache = new Map<string, GlyphMask | null>();
/** Atlases being rasterised, by the keys they will fill: concurrent cards wait for them. */
const pending = new Map<string, Promise<void>>();

interface Snapped { key: string; ix: number; iy: number; fx: number; fy: number; draw: GlyphDraw }

function snap(d: GlyphDraw): Snapped {
  let ix = Math.floor(d.x);
  let fx = Math.round((d.x - ix) * PHASES);
  if (fx === PHASES) { ix++; fx = 0; }
  let iy = Math.floor(d.y);
  let fy = Math.round((d.y - iy) * PHASES);
  if (fy === PHASES) { iy++; fy = 0; }
  return { key: `${d.font[0]}${d.index}@${d.size.toFixed(2)}/${fx}${fy}`, ix, iy, fx, fy, draw: d };
}

/** Masks for `draws`, one per draw in order (null for a glyph that draws nothing, a space). */
export async function glyphMasks(draws: GlyphDraw[]): Promise<Array<PlacedMask | null>> {
  const snapped = draws.map(snap);
  const missing = new Map<string, Snapped>();
  const waits = new Set<Promise<void>>();
  for (const s of snapped) {
    if (cache.has(s.key) || missing.has(s.key)) continue;
    const p = pending.get(s.key);
    if (p) waits.add(p);
    else missing.set(s.key, s);
  }
  if (missing.size) {
    const p = rasterise([...missing.values()]).finally(() => { for (const k of missing.keys()) pending.delete(k); });
    for (const k of missing.keys()) pending.set(k, p);
    waits.add(p);
  }
  await Promise.all(waits);
  return snapped.map((s) => {
    const mask = cache.get(s.key);
    return mask ? { mask, left: s.ix + mask.dx, top: s.iy + mask.dy } : null;
  });
}

/** Rasterise glyphs into one atlas (shelf-packed rows) with a single librsvg call, and cut it up. */
async function rasterise(list: Snapped[]): Promise<void> {
  const cells: Array<{ s: Snapped; x: number; y: number; w: number; h: number; dx: number; dy: number; body: string }> = [];
  let x = 0, y = 0, rowH = 0;
  for (const s of list) {
    const f = face(s.draw.font);
    const b = f.bounds(s.draw.index);
    if (!b) { remember(s.key, null); continue; }
    const k = s.draw.size / f.upm;
    const ox = s.fx / PHASES, oy = s.fy / PHASES;
    // One pixel of margin around the outline's box for anti-aliasing.
    const dx = Math.floor(b.xMin * k + ox) - 1, dy = Math.floor(-b.yMax * k + oy) - 1;
    const w = Math.ceil(b.xMax * k + ox) + 1 - dx, h = Math.ceil(-b.yMin * k + oy) + 1 - dy;
    if (x + w > ATLAS_WIDTH && x > 0) { x = 0; y += rowH; rowH = 0; }
    const body = `<path transform="translate(${x - dx + ox} ${y - dy + oy}) scale(${k})" d="${f.pathData(s.draw.index)}"/>`;
    cells.push({ s, x, y, w, h, dx, dy, body });
    x += w;
    rowH = Math.max(rowH, h);
  }
  if (!cells.length) return;
  const width = Math.max(...cells.map((c) => c.x + c.w));
  const height = y + rowH;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${cells.map((c) => c.body).join('')}</svg>`;
  const alpha = await sharp(Buffer.from(svg)).ensureAlpha().extractChannel(3).raw().toBuffer();
  for (const c of cells) {
    const data = new Uint8Array(c.w * c.h);
    for (let j = 0; j < c.h; j++) data.set(alpha.subarray((c.y + j) * width + c.x, (c.y + j) * width + c.x + c.w), j * c.w);
    remember(c.s.key, { data, width: c.w, height: c.h, dx: c.dx, dy: c.dy });
  }
}

function remember(key: string, mask: GlyphMask | null) {
  if (cache.size >= MAX_ENTRIES) {
    // Map iterates in insertion order: drop the oldest tenth at once.
    let n = MAX_ENTRIES / 10;
    for (const k of cache.keys()) { if (n-- <= 0) break; cache.delete(k); }
  }
  cache.set(key, mask);
}

/** Number of cached masks (tests check that a repeated card adds none). */
export function glyphCacheSize(): number {
  return cache.size;
}
