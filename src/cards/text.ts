/**
 * Text preparation and layout: cleaning user input, word wrapping, and shrinking a
 * block until it fits its box. Everything is measured with the shipped font's
 * metrics (fonts.ts), in design units (the 900×1200 card space).
 */
import { face, type Face, type FontId } from './fonts.ts';

export const TITLE_MAX_CHARS = 60;
export const FEATURES_MAX = 5;
export const FEATURE_MAX_CHARS = 80;
export const PRICE_MAX_CHARS = 24;

const ELLIPSIS = '…';

/**
 * Normalise user text for one line of typesetting: NFC, control and zero-width
 * characters and line breaks become spaces, whitespace collapses, and characters
 * the font cannot draw (most emoji, private-use, variation selectors) are dropped,
 * so nothing is ever drawn as a tofu box.
 */
export function cleanText(raw: string, fontId: FontId = 'bold'): string {
  const f = face(fontId);
  const s = raw
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff]/g, ' ');
  let out = '';
  for (const ch of s) {
    if (/\s/u.test(ch)) out += ' ';
    else if (f.has(ch)) out += ch;
  }
  return out.replace(/ {2,}/g, ' ').trim();
}

/** Cut to at most `max` characters (code points), at a word boundary when one is close, adding "…". */
export function truncateChars(s: string, max: number): string {
  const cps = [...s];
  if (cps.length <= max) return s;
  let cut = cps.slice(0, max - 1).join('');
  const space = cut.lastIndexOf(' ');
  if (space >= cut.length * 0.6) cut = cut.slice(0, space);
  return cut.replace(/[\s,.;:–—-]+$/u, '') + ELLIPSIS;
}

/**
 * Price as the card shows it. Plain numbers ("12990", "12 990", "1299.50") get
 * thousands grouping and " ₽"; "руб"/"р."/"rub" become "₽"; anything else (other
 * currencies, "от 990 ₽") is kept as typed. Empty → null.
 */
export function formatPrice(raw: string | null | undefined): string | null {
  if (raw == null) return null;
  let s = cleanText(raw, 'bold');
  if (!s) return null;
  s = s.replace(/\s*(?:руб(?:лей|ля|ль)?\.?|р\.|rub\.?|rur\.?)$/iu, ' ₽').trim();
  const m = /^(\d[\d\s]*)(?:[.,](\d{1,2}))?(\s*₽)?$/u.exec(s);
  if (m) {
    const int = m[1].replace(/\s/g, '').replace(/^0+(?=\d)/, '');
    const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');
    const frac = m[2] && !/^0+$/.test(m[2]) ? `,${m[2].padEnd(2, '0')}` : '';
    s = `${grouped}${frac}\u00a0₽`;
  }
  return truncateChars(s, PRICE_MAX_CHARS);
}

/**
 * A plain price as typed by a seller ("12 990", "1299,50 ₽", "990 руб.") as a number
 * string ("12990", "1299.50"), positive, at most 9 digits and 2 decimals; null for
 * anything else. What the bot accepts at its price step; formatPrice() shows it.
 */
export function parsePrice(raw: string): string | null {
  const cleaned = raw.trim().replace(/\s|₽|руб\.?|р\.?|rub\.?/gi, '').replace(',', '.');
  return /^\d{1,9}(\.\d{1,2})?$/.test(cleaned) && Number(cleaned) > 0 ? cleaned : null;
}

export interface Line {
  text: string;
  /** Width in design units at the block's size. */
  width: number;
}

export interface Block {
  lines: Line[];
  size: number;
  /** Line pitch in design units. */
  lineHeight: number;
  /** lines.length × lineHeight. */
  height: number;
  /** Widest line. */
  width: number;
  /** Whether text had to be cut to fit. */
  truncated: boolean;
}

export interface FitOptions {
  font: FontId;
  maxSize: number;
  minSize: number;
  maxWidth: number;
  maxHeight: number;
  maxLines: number;
  /** Line pitch as a multiple of the size. */
  leading?: number;
  /** Extra letter spacing in em. */
  tracking?: number;
  /** Even out line lengths (titles) instead of greedy filling. */
  balance?: boolean;
  /** Size step while shrinking. */
  step?: number;
}

/** Greedy word wrap; a word longer than the line is broken between letters. */
export function wrap(f: Face, text: string, size: number, maxWidth: number, tracking = 0): string[] {
  return wrapInfo(f, text, size, maxWidth, tracking).lines;
}

/** wrap(), also telling whether some word had to be broken. */
export function wrapInfo(f: Face, text: string, size: number, maxWidth: number, tracking = 0): { lines: string[]; broken: boolean } {
  const fits = (s: string) => f.measure(s, size, tracking) <= maxWidth;
  const lines: string[] = [];
  let broken = false;
  let line = '';
  for (const word of text.split(' ')) {
    if (!word) continue;
    const candidate = line ? `${line} ${word}` : word;
    if (fits(candidate)) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    if (fits(word)) {
      line = word;
      continue;
    }
    // Break an over-long word between code points.
    broken = true;
    let part = '';
    for (const ch of word) {
      if (part && !fits(part + ch)) {
        lines.push(part);
        part = ch;
      } else {
        part += ch;
      }
    }
    line = part;
  }
  if (line) lines.push(line);
  return { lines, broken };
}

/** Shortest line width that still wraps `text` into `count` lines (binary search). */
function balancedWidth(f: Face, text: string, size: number, maxWidth: number, count: number, tracking: number): number {
  let lo = maxWidth * 0.5;
  let hi = maxWidth;
  for (let i = 0; i < 7; i++) {
    const mid = (lo + hi) / 2;
    const w = wrapInfo(f, text, size, mid, tracking);
    if (w.lines.length <= count && !w.broken) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Cut `lines` to `max`, ending the last with "…" that fits `maxWidth`. */
function cutLines(f: Face, lines: string[], max: number, size: number, maxWidth: number, tracking: number): string[] {
  if (lines.length <= max) return lines;
  const kept = lines.slice(0, Math.max(0, max));
  if (kept.length === 0) return kept;
  let last = `${kept[kept.length - 1]} ${lines[kept.length]}`;
  while (last && f.measure(last + ELLIPSIS, size, tracking) > maxWidth) {
    const cps = [...last];
    cps.pop();
    last = cps.join('');
  }
  kept[kept.length - 1] = last.replace(/[\s,.;:–—-]+$/u, '') + ELLIPSIS;
  return kept;
}

function toBlock(f: Face, lines: string[], size: number, leading: number, tracking: number, truncated: boolean): Block {
  const measured = lines.map((text) => ({ text, width: f.measure(text, size, tracking) }));
  const lineHeight = size * leading;
  return {
    lines: measured,
    size,
    lineHeight,
    height: measured.length * lineHeight,
    width: measured.reduce((m, l) => Math.max(m, l.width), 0),
    truncated,
  };
}

/**
 * Typeset `text` in the largest size from maxSize down to minSize at which it fits
 * maxLines and maxHeight. If even minSize does not fit, the text is cut with "…".
 * The result never exceeds maxWidth × maxHeight.
 */
export function fitBlock(text: string, o: FitOptions): Block {
  const f = face(o.font);
  const leading = o.leading ?? 1.2;
  const tracking = o.tracking ?? 0;
  const step = o.step ?? 2;
  if (!text) return toBlock(f, [], o.maxSize, leading, tracking, false);
  for (let size = o.maxSize; size >= o.minSize; size -= step) {
    const w = wrapInfo(f, text, size, o.maxWidth, tracking);
    let lines = w.lines;
    // Prefer a smaller size to breaking a word, down to minSize + 2 steps.
    if (w.broken && size > o.minSize + 2 * step) continue;
    if (lines.length <= o.maxLines && lines.length * size * leading <= o.maxHeight) {
      if (o.balance && lines.length > 1) {
        lines = wrap(f, text, size, balancedWidth(f, text, size, o.maxWidth, lines.length, tracking), tracking);
      }
      return toBlock(f, lines, size, leading, tracking, false);
    }
  }
  const size = o.minSize;
  const room = Math.min(o.maxLines, Math.floor(o.maxHeight / (size * leading)));
  const lines = cutLines(f, wrap(f, text, size, o.maxWidth, tracking), Math.max(room, 0), size, o.maxWidth, tracking);
  return toBlock(f, lines, size, leading, tracking, true);
}

export interface ListFitOptions extends Omit<FitOptions, 'maxLines' | 'balance'> {
  /** Lines one item may wrap to. */
  maxLinesPerItem: number;
  /** Space between items as a multiple of the size. */
  gap: number;
}

export interface ListBlock {
  items: Block[];
  size: number;
  gap: number;
  height: number;
}

function listHeight(items: Block[], gap: number): number {
  return items.reduce((h, b) => h + b.height, 0) + gap * Math.max(0, items.length - 1);
}

/**
 * Typeset a list (features) in one common size, the largest that fits. Below
 * minSize items are cut to fewer lines, then trailing items are dropped, so the
 * list never exceeds maxHeight.
 */
export function fitList(items: string[], o: ListFitOptions): ListBlock {
  const f = face(o.font);
  const leading = o.leading ?? 1.2;
  const tracking = o.tracking ?? 0;
  const step = o.step ?? 2;
  const texts = items.filter(Boolean);
  if (texts.length === 0) return { items: [], size: o.maxSize, gap: 0, height: 0 };
  for (let size = o.maxSize; size >= o.minSize; size -= step) {
    const wrapped = texts.map((t) => wrapInfo(f, t, size, o.maxWidth, tracking));
    if (wrapped.some((w) => w.broken) && size > o.minSize + 2 * step) continue;
    if (wrapped.every((w) => w.lines.length <= o.maxLinesPerItem)) {
      const blocks = wrapped.map((w) => toBlock(f, w.lines, size, leading, tracking, false));
      const gap = size * o.gap;
      if (listHeight(blocks, gap) <= o.maxHeight) return { items: blocks, size, gap, height: listHeight(blocks, gap) };
    }
  }
  const size = o.minSize;
  const gap = size * o.gap;
  for (let perItem = o.maxLinesPerItem; perItem >= 1; perItem--) {
    const blocks = texts.map((t) => {
      const all = wrap(f, t, size, o.maxWidth, tracking);
      return toBlock(f, cutLines(f, all, perItem, size, o.maxWidth, tracking), size, leading, tracking, all.length > perItem);
    });
    while (blocks.length > 0 && listHeight(blocks, gap) > o.maxHeight) blocks.pop();
    if (blocks.length === texts.length || perItem === 1) {
      return { items: blocks, size, gap, height: listHeight(blocks, gap) };
    }
  }
  return { items: [], size, gap, height: 0 };
}

/** Baseline of line `i` of a block whose top is `top`: optically centres caps in the line box. */
export function baselineOf(block: Pick<Block, 'lineHeight' | 'size'>, top: number, i: number): number {
  return top + i * block.lineHeight + block.lineHeight / 2 + block.size * 0.36;
}
