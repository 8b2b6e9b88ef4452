/**
 * Text through sharp's libvips text operator: Pango + HarfBuzz + FriBidi + FreeType
 * shape each line (kerning, ligatures, marks, Arabic joining) and order it (bidi), from
 * the shipped font files only. Two jobs:
 * - measure: word widths for the layout code (text.ts fits and wraps synchronously with
 *   them); one Pango call measures all of a card's new words, and widths are cached.
 * - draw: one Pango call per text box draws its lines as a coverage mask, which the
 *   caller paints in its colour (canvas.fillMask).
 * libvips returns only the ink box of a layout, so every layout starts with an
 * invisible full-block line (█, alpha 1/65535): its ink top is a known distance above
 * the first baseline, which places the lines exactly whatever letters they hold.
 */
import sharp from 'sharp';
import { FONT_DIR, FONT_FILES, METRICS, PANGO_FONTS, type FontId } from './fonts.ts';

export type Align = 'left' | 'center' | 'right';

/** Size (px) words are measured at; widths scale linearly from it. */
const REF = 48;
/** Bound on cached word widths (~100 bytes each); the oldest go first. */
const MAX_WORDS = 50_000;
/** Width of a word not measured yet (a piece of a broken word), in em per character. */
const FALLBACK_EM = 0.62;

const ANCHOR = '<span alpha="1">█</span>\n';

/** Pango markup is parsed: the seller's < > & must stay text, never become tags. */
export function escapeMarkup(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface Mask { data: Buffer; width: number; height: number }

async function pango(font: FontId, px: number, markup: string, opts: { spacing?: number; align?: 'left' | 'centre' | 'right' } = {}): Promise<Mask> {
  const { data, info } = await sharp({
    text: {
      text: markup,
      fontfile: FONT_DIR + FONT_FILES[font],
      font: `${PANGO_FONTS[font]} ${Math.round(px * 100) / 100}px`,
      dpi: 72,
      align: opts.align ?? 'left',
      ...(opts.spacing ? { spacing: opts.spacing } : {}),
    },
  }).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Natural line pitch (px) of a font at a pixel size, found once by drawing two full blocks. */
const pitches = new Map<string, Promise<number>>();
function naturalPitch(font: FontId, px: number): Promise<number> {
  const key = `${font}:${px}`;
  let p = pitches.get(key);
  if (!p) {
    p = Promise.all([pango(font, px, '█'), pango(font, px, '█\n█')]).then(([one, two]) => two.height - one.height);
    p.catch(() => pitches.delete(key));
    pitches.set(key, p);
  }
  return p;
}

/** Columns [x0, x1) of rows [y0, y1) that hold ink; null when none do. */
function inkColumns(m: Mask, y0: number, y1: number): [number, number] | null {
  let x0 = m.width;
  let x1 = 0;
  for (let y = Math.max(0, y0); y < Math.min(m.height, y1); y++) {
    const row = y * m.width;
    for (let x = 0; x < x0; x++) if (m.data[row + x]) { x0 = x; break; }
    for (let x = m.width - 1; x >= x1; x--) if (m.data[row + x]) { x1 = x + 1; break; }
  }
  return x1 > x0 ? [x0, x1] : null;
}

// ───────────────────────────── measuring ─────────────────────────────

const widths = new Map<string, number>();
const wkey = (font: FontId, tracking: number, word: string) => `${font[0]}${tracking}\u0000${word}`;

function tracked(markup: string, tracking: number, px: number): string {
  // letter_spacing is in 1/1024 pt, and at 72 dpi a point is a pixel.
  return tracking ? `<span letter_spacing="${Math.round(tracking * px * 1024)}">${markup}</span>` : markup;
}

/**
 * Measure every word of `texts` not measured yet, in one Pango call: the words stacked
 * one per line, far enough apart that their ink never touches, each between two full
 * blocks so that the ink width read back, less that of "██", is the word's shaped advance.
 */
export async function measureWords(font: FontId, texts: string[], tracking = 0): Promise<void> {
  const words = [...new Set(texts.flatMap((t) => t.split(' ')).filter((w) => w && !widths.has(wkey(font, tracking, w))))];
  if (!words.length) return;
  const gap = REF;
  const [pitch, m] = await Promise.all([
    naturalPitch(font, REF),
    pango(font, REF, ANCHOR + tracked(['██', ...words.map((w) => `█${escapeMarkup(w)}█`)].join('\n'), tracking, REF), { spacing: gap }),
  ]);
  const step = pitch + gap;
  const ink = Math.ceil(REF * 1.2);
  if (widths.size + words.length > MAX_WORDS) {
    let n = widths.size + words.length - MAX_WORDS + MAX_WORDS / 10;
    for (const k of widths.keys()) { if (n-- <= 0) break; widths.delete(k); }
  }
  const lineInk = (i: number) => {
    const cols = inkColumns(m, (i + 1) * step - 2, (i + 1) * step + ink + 2);
    return cols ? cols[1] - cols[0] : 0;
  };
  const blocks = lineInk(0);
  words.forEach((w, i) => {
    const inked = lineInk(i + 1);
    widths.set(wkey(font, tracking, w), inked > blocks ? (inked - blocks) / REF : [...w].length * FALLBACK_EM);
  });
}

/** Width of one line of text in design units at `size`, from measured words (measureWords first). */
export function measure(font: FontId, text: string, size: number, tracking = 0): number {
  let em = 0;
  let words = 0;
  for (const w of text.split(' ')) {
    if (words++) em += METRICS.space[font] + tracking;
    if (!w) continue;
    em += widths.get(wkey(font, tracking, w)) ?? [...w].length * FALLBACK_EM;
  }
  return em * size;
}

// ───────────────────────────── drawing ─────────────────────────────

/** One typeset text box, in the coordinates of the picture it is drawn on. */
export interface TextBox {
  lines: string[];
  font: FontId;
  /** Font size and line pitch. */
  size: number;
  lineHeight: number;
  /** Extra letter spacing in em. */
  tracking: number;
  fill: string;
  /** x is the left edge, centre or right edge per align; for right-to-left text left and right swap, within boxWidth. */
  align: Align;
  x: number;
  boxWidth: number;
  /** Baseline of the first line. */
  baseline: number;
  /** Degrees clockwise about (cx, cy); the promo badge's price. */
  rotate?: { degrees: number; cx: number; cy: number };
  /**
   * A list drawn in one Pango call: each item's number of lines (in order) and the baseline of
   * its first line; `baseline` is the first item's. Each item's rows are then painted at its own
   * place. Only for line pitches taller than a full block (items' ink rows never touch).
   */
  items?: Array<{ lines: number; baseline: number }>;
}

/** Line pitch (in em) above which a list's items are drawn in one call (see TextBox.items). */
export const ONE_CALL_LEADING = 1.19;

export interface PlacedMask {
  mask: { data: Uint8Array; width: number; height: number };
  left: number;
  top: number;
}

const RTL_STRONG = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]/u;
const LTR_STRONG = /[A-Za-z\u00c0-\u058f\u0900-\u1fff\u2c00-\ufb1c]/u;

/** Paragraph direction as Pango resolves it: from the first strong character. */
export function isRtl(text: string): boolean {
  for (const ch of text) {
    if (RTL_STRONG.test(ch)) return true;
    if (LTR_STRONG.test(ch)) return false;
  }
  return false;
}

/** Draw a text box as coverage masks placed in the picture: one, or one per item of a list; none when it draws nothing. */
export async function drawBox(b: TextBox): Promise<PlacedMask[]> {
  const lines = b.lines.filter((l) => l.trim());
  if (!lines.length) return [];
  const pitch0 = await naturalPitch(b.font, b.size);
  const spacing = Math.round(b.lineHeight - pitch0);
  const pitch = pitch0 + spacing;
  const rtl = isRtl(b.lines.join(' '));
  const align: Align = rtl && b.align !== 'center' ? (b.align === 'left' ? 'right' : 'left') : b.align;
  const markup = ANCHOR + tracked(b.lines.map(escapeMarkup).join('\n'), b.tracking, b.size);
  const m = await pango(b.font, b.size, markup, { spacing, align: align === 'center' ? 'centre' : align });
  const cols = inkColumns(m, 0, m.height);
  if (!cols) return [];
  const [x0, x1] = cols;
  const left =
    align === 'center' ? b.x - (x0 + x1) / 2
      : align === 'left' ? (b.align === 'left' ? b.x : b.x - b.boxWidth) - x0
        : (b.align === 'right' ? b.x : b.x + b.boxWidth) - x1;
  // The anchor's top row is the image's top; the first baseline is a pitch and a block-top below it.
  const top = b.baseline - pitch - METRICS.blockTop * b.size;
  if (b.items) {
    // Line i's full-block top is (i + 1) pitches below the image's top; an item's rows run to the next item's.
    const out: PlacedMask[] = [];
    let first = 0;
    for (const item of b.items) {
      const r0 = Math.min(m.height, Math.round((first + 1) * pitch));
      const r1 = Math.min(m.height, Math.round((first + item.lines + 1) * pitch));
      first += item.lines;
      if (r1 <= r0) continue;
      out.push({
        mask: { data: m.data.subarray(r0 * m.width, r1 * m.width), width: m.width, height: r1 - r0 },
        left: Math.round(left),
        top: Math.round(item.baseline - METRICS.blockTop * b.size + (r0 - (first - item.lines + 1) * pitch)),
      });
    }
    return out;
  }
  if (!b.rotate) return [{ mask: m, left: Math.round(left), top: Math.round(top) }];
  // Rotate the ink about its own centre, then move that centre as the rotation about (cx, cy) would.
  const y0 = pitch;
  const crop = await sharp(m.data, { raw: { width: m.width, height: m.height, channels: 1 } })
    .extract({ left: x0, top: y0, width: x1 - x0, height: m.height - y0 })
    .rotate(b.rotate.degrees, { background: '#000000' })
    .extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const ux = left + (x0 + x1) / 2 - b.rotate.cx;
  const uy = top + (y0 + m.height) / 2 - b.rotate.cy;
  const a = (b.rotate.degrees * Math.PI) / 180;
  const rx = b.rotate.cx + ux * Math.cos(a) - uy * Math.sin(a);
  const ry = b.rotate.cy + ux * Math.sin(a) + uy * Math.cos(a);
  const { width, height } = crop.info;
  return [{ mask: { data: crop.data, width, height }, left: Math.round(rx - width / 2), top: Math.round(ry - height / 2) }];
}
