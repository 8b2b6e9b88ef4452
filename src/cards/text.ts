/**
 * Text preparation and layout: checking and cleaning user input, word wrapping, and
 * shrinking a block until it fits its box. Widths are the shipped fonts' shaped word
 * widths measured by Pango (typeset.ts: call measureWords first), in design units (the
 * 900×1200 card space); Pango then draws the lines exactly as broken here.
 */
import { emojiIn, fontHas, stripEmoji, type FontId } from './fonts.ts';
import { measure } from './typeset.ts';

export const TITLE_MAX_CHARS = 60;
export const FEATURES_MAX = 5;
export const FEATURE_MAX_CHARS = 80;
export const PRICE_MAX_CHARS = 24;

const ELLIPSIS = '…';

/** Control, format and zero-width characters: typeset as spaces, never refused. */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff]/g;

/**
 * The characters of `raw` a card cannot show in `font` (emoji, and anything the shipped
 * font has no glyph for), each once, in order: what the bot and the API refuse before
 * confirm, naming them. Empty when the text is fine.
 */
export function unsupportedChars(raw: string, font: FontId = 'bold'): string[] {
  const s = raw.normalize('NFC');
  const bad = new Set(emojiIn(s));
  for (const ch of stripEmoji(s).replace(INVISIBLE, ' ')) {
    if (!/\s/u.test(ch) && !fontHas(font, ch.codePointAt(0)!)) bad.add(ch);
  }
  return [...bad];
}

/** Characters as a message names them: "☕ (U+2615), ⌘ (U+2318)". */
export function describeChars(chars: string[]): string {
  return chars.map((c) => `${c} (${[...c].map((p) => 'U+' + p.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')).join(' ')})`).join(', ');
}

/**
 * Normalise user text for one line of typesetting: NFC, control and zero-width
 * characters and line breaks become spaces, whitespace collapses, and emoji and
 * characters the font cannot draw are dropped (input is refused earlier with
 * unsupportedChars; this is the renderer's safety net), so nothing is ever drawn as a
 * tofu box and Pango never falls back to a system font.
 */
export function cleanText(raw: string, fontId: FontId = 'bold'): string {
  const s = stripEmoji(raw.normalize('NFC')).replace(INVISIBLE, ' ');
  let out = '';
  for (const ch of s) {
    if (/\s/u.test(ch)) out += ' ';
    else if (fontHas(fontId, ch.codePointAt(0)!)) out += ch;
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
  /** The box width it was fitted to (right-to-left lines align to its far edge). */
  maxWidth: number;
  /** Extra letter spacing in em it was measured with. */
  tracking: number;
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
export function wrap(f: FontId, text: string, size: number, maxWidth: number, tracking = 0): string[] {
  return wrapInfo(f, text, size, maxWidth, tracking).lines;
}

/** wrap(), also telling whether some word had to be broken. */
export function wrapInfo(f: FontId, text: string, size: number, maxWidth: number, tracking = 0): { lines: string[]; broken: boolean } {
  const fits = (s: string) => measure(f, s, size, tracking) <= maxWidth;
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
function balancedWidth(f: FontId, text: string, size: number, maxWidth: number, count: number, tracking: number): number {
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
function cutLines(f: FontId, lines: string[], max: number, size: number, maxWidth: number, tracking: number): string[] {
  if (lines.length <= max) return lines;
  const kept = lines.slice(0, Math.max(0, max));
  if (kept.length === 0) return kept;
  let last = `${kept[kept.length - 1]} ${lines[kept.length]}`;
  while (last && measure(f, last + ELLIPSIS, size, tracking) > maxWidth) {
    const cps = [...last];
    cps.pop();
    last = cps.join('');
  }
  kept[kept.length - 1] = last.replace(/[\s,.;:–—-]+$/u, '') + ELLIPSIS;
  return kept;
}

function toBlock(f: FontId, lines: string[], size: number, leading: number, tracking: number, truncated: boolean, maxWidth: number): Block {
  const measured = lines.map((text) => ({ text, width: Math.min(maxWidth, measure(f, text, size, tracking)) }));
  const lineHeight = size * leading;
  return {
    lines: measured,
    size,
    lineHeight,
    height: measured.length * lineHeight,
    width: measured.reduce((m, l) => Math.max(m, l.width), 0),
    truncated,
    maxWidth,
    tracking,
  };
}

/**
 * Typeset `text` in the largest size from maxSize down to minSize at which it fits
 * maxLines and maxHeight. If even minSize does not fit, the text is cut with "…".
 * The result never exceeds maxWidth × maxHeight.
 */
export function fitBlock(text: string, o: FitOptions): Block {
  const f = o.font;
  const leading = o.leading ?? 1.2;
  const tracking = o.tracking ?? 0;
  const step = o.step ?? 2;
  if (!text) return toBlock(f, [], o.maxSize, leading, tracking, false, o.maxWidth);
  for (let size = o.maxSize; size >= o.minSize; size -= step) {
    const w = wrapInfo(f, text, size, o.maxWidth, tracking);
    let lines = w.lines;
    // Prefer a smaller size to breaking a word, down to minSize + 2 steps.
    if (w.broken && size > o.minSize + 2 * step) continue;
    if (lines.length <= o.maxLines && lines.length * size * leading <= o.maxHeight) {
      if (o.balance && lines.length > 1) {
        lines = wrap(f, text, size, balancedWidth(f, text, size, o.maxWidth, lines.length, tracking), tracking);
      }
      return toBlock(f, lines, size, leading, tracking, false, o.maxWidth);
    }
  }
  const size = o.minSize;
  const room = Math.min(o.maxLines, Math.floor(o.maxHeight / (size * leading)));
  const lines = cutLines(f, wrap(f, text, size, o.maxWidth, tracking), Math.max(room, 0), size, o.maxWidth, tracking);
  return toBlock(f, lines, size, leading, tracking, true, o.maxWidth);
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
  const f = o.font;
  const leading = o.leading ?? 1.2;
  const tracking = o.tracking ?? 0;
  const step = o.step ?? 2;
  const texts = items.filter(Boolean);
  if (texts.length === 0) return { items: [], size: o.maxSize, gap: 0, height: 0 };
  for (let size = o.maxSize; size >= o.minSize; size -= step) {
    const wrapped = texts.map((t) => wrapInfo(f, t, size, o.maxWidth, tracking));
    if (wrapped.some((w) => w.broken) && size > o.minSize + 2 * step) continue;
    if (wrapped.every((w) => w.lines.length <= o.maxLinesPerItem)) {
      const blocks = wrapped.map((w) => toBlock(f, w.lines, size, leading, tracking, false, o.maxWidth));
      const gap = size * o.gap;
      if (listHeight(blocks, gap) <= o.maxHeight) return { items: blocks, size, gap, height: listHeight(blocks, gap) };
    }
  }
  const size = o.minSize;
  const gap = size * o.gap;
  for (let perItem = o.maxLinesPerItem; perItem >= 1; perItem--) {
    const blocks = texts.map((t) => {
      const all = wrap(f, t, size, o.maxWidth, tracking);
      return toBlock(f, cutLines(f, all, perItem, size, o.maxWidth, tracking), size, leading, tracking, all.length > perItem, o.maxWidth);
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
