/**
 * The look of each template: given the cleaned words and the photo's size, lay
 * out a Scene in design units (a 900×1200 card; the large size is the same scene
 * scaled): a static background (cached per template), the photo placed in a
 * box, and boxed overlay layers with shapes and typeset text.
 */
import type { FontId } from './fonts.ts';
import type { Placement } from './photo.ts';
import type { TemplateId } from './templates.ts';
import { baselineOf, fitBlock, fitList, type Block, type ListBlock } from './text.ts';
import { isRtl, measureWords, ONE_CALL_LEADING, type Align, type TextBox } from './typeset.ts';

export const DESIGN_WIDTH = 900;
export const DESIGN_HEIGHT = 1200;
const W = DESIGN_WIDTH;
const H = DESIGN_HEIGHT;

export interface Content {
  title: string;
  features: string[];
  price: string | null;
}

/** Part of the overlay: an SVG body and text on top of it, in design coordinates, drawn only within its box. */
export interface Layer {
  x: number;
  y: number;
  width: number;
  height: number;
  /** SVG content (with its own <defs>) in design coordinates; '' when the layer is only text. */
  svg: string;
  /** Text boxes in design units, drawn over the SVG by Pango (typeset.ts), clipped to the layer. */
  text: TextBox[];
}

export interface Scene {
  /** SVG body of the background; depends only on the template, so renderers cache it. */
  background: string;
  photo: {
    x: number;
    y: number;
    width: number;
    height: number;
    radius: number;
    /** Slanted bottom edge: its y at the left and right side, relative to the photo's top. */
    bottom?: { left: number; right: number };
    /** Darkening towards the bottom edge. */
    shade?: { height: number; opacity: number };
  } & Omit<Placement, 'width' | 'height'>;
  /** Drawn over the photo, in order. */
  layers: Layer[];
}

/**
 * Every word a card of this content may set, measured (one Pango call per font for the
 * new ones) so that layout() can fit and wrap synchronously.
 */
export async function measureContent(c: Content): Promise<void> {
  const bold = [c.title, c.price ?? '', '…', '1 2 3'];
  await Promise.all([
    measureWords('bold', bold),
    measureWords('bold', [c.title.toLocaleUpperCase('ru'), '…'], BOLD_TRACKING),
    measureWords('regular', [...c.features, c.title, '…']),
  ]);
}

/**
 * Everything a design draws over the photo, as boxed layers (rasterising only
 * the boxes is much cheaper than a full-card SVG). Text is kept as text boxes drawn
 * over the layer's shapes by Pango, one call per box.
 */
class Overlay {
  private readonly layers: Array<{ box: Omit<Layer, 'svg' | 'text'>; defs: string[]; parts: string[]; text: TextBox[] }> = [];

  /** Start a new layer covering this box; later add/def/block calls draw into it. */
  layer(x: number, y: number, width: number, height: number): void {
    const x0 = Math.max(0, x);
    const y0 = Math.max(0, y);
    const box = { x: x0, y: y0, width: Math.min(W, x + width) - x0, height: Math.min(H, y + height) - y0 };
    this.layers.push({ box, defs: [], parts: [], text: [] });
  }

  private get current() {
    const l = this.layers[this.layers.length - 1];
    if (!l) throw new Error('Overlay.layer() first');
    return l;
  }

  add(svg: string): void {
    this.current.parts.push(svg);
  }

  def(svg: string): void {
    this.current.defs.push(svg);
  }

  /**
   * Draw a typeset block whose top edge is `top`; x is left/centre/right edge per align.
   * Drawn over every shape of its layer, so a shape added later must not overlap it.
   */
  block(b: Block, font: FontId, x: number, top: number, fill: string, align: Align = 'left', rotate?: TextBox['rotate']): void {
    if (!b.lines.length) return;
    this.current.text.push({
      lines: b.lines.map((l) => l.text), font, size: b.size, lineHeight: b.lineHeight, tracking: b.tracking,
      fill, align, x, boxWidth: b.maxWidth, baseline: baselineOf(b, top, 0), ...(rotate ? { rotate } : {}),
    });
  }

  /**
   * Draw a list's items (blocks of one size) whose tops are `tops`: in one Pango call when its
   * pitch leaves room between lines and all items run the same direction, else one per item.
   */
  list(items: Block[], tops: number[], font: FontId, x: number, fill: string, align: Align = 'left'): void {
    const b = items[0];
    if (!b) return;
    const oneCall = items.length > 1 && b.lineHeight >= ONE_CALL_LEADING * b.size &&
      new Set(items.map((i) => isRtl(i.lines.map((l) => l.text).join(' ')))).size === 1;
    if (!oneCall) {
      items.forEach((item, i) => this.block(item, font, x, tops[i], fill, align));
      return;
    }
    const baselines = items.map((item, i) => baselineOf(item, tops[i], 0));
    this.current.text.push({
      lines: items.flatMap((i) => i.lines.map((l) => l.text)), font, size: b.size, lineHeight: b.lineHeight, tracking: b.tracking,
      fill, align, x, boxWidth: b.maxWidth, baseline: baselines[0],
      items: items.map((item, i) => ({ lines: item.lines.length, baseline: baselines[i] })),
    });
  }

  toLayers(): Layer[] {
    return this.layers
      .filter((l) => (l.parts.length > 0 || l.text.length > 0) && l.box.width > 0 && l.box.height > 0)
      .map((l) => ({
        ...l.box,
        svg: l.parts.length ? `<defs>${l.defs.join('')}</defs>${l.parts.join('')}` : '',
        text: l.text,
      }));
  }
}

const n = (v: number) => (Math.round(v * 10) / 10).toString();

function pill(x: number, y: number, w: number, h: number, fill: string, extra = ''): string {
  return `<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" rx="${n(h / 2)}" fill="${fill}"${extra}/>`;
}

/** A price in a pill: returns the pill size for a given max width. */
function pricePill(price: string, maxWidth: number, maxSize: number, minSize: number) {
  const block = fitBlock(price, { font: 'bold', maxSize, minSize, maxWidth: maxWidth - maxSize * 1.1, maxHeight: maxSize * 1.2, maxLines: 1, leading: 1.2 });
  const h = block.size * 1.9;
  const w = block.width + block.size * 1.1;
  return { block, w, h };
}

function checkIcon(cx: number, cy: number, r: number, fill: string, stroke: string): string {
  const s = r / 17;
  return (
    `<circle cx="${n(cx)}" cy="${n(cy)}" r="${n(r)}" fill="${fill}"/>` +
    `<path d="M${n(cx - 7.5 * s)} ${n(cy + 0.5 * s)} L${n(cx - 2 * s)} ${n(cy + 6 * s)} L${n(cx + 8 * s)} ${n(cy - 5.5 * s)}" fill="none" stroke="${stroke}" stroke-width="${n(3.6 * s)}" stroke-linecap="round" stroke-linejoin="round"/>`
  );
}

/** Draw a list with a marker before each item; `indent` is the marker column width. */
function drawList(
  o: Overlay,
  list: ListBlock,
  x: number,
  top: number,
  font: FontId,
  fill: string,
  indent: number,
  marker: (cx: number, cy: number, size: number) => string,
): void {
  let y = top;
  const tops: number[] = [];
  for (const item of list.items) {
    const firstCenter = y + item.lineHeight / 2;
    o.add(marker(x + (indent - 20) / 2, firstCenter, item.size));
    tops.push(y);
    y += item.height + list.gap;
  }
  o.list(list.items, tops, font, x + indent, fill);
}

/** Slack around a text box for overhangs (accents, descenders, italic-like overshoot). */
const SLACK = 10;

// ───────────────────────────── clean ─────────────────────────────

const CLEAN = {
  margin: 56,
  ink: '#151a23',
  text: '#2a3140',
  accent: '#7b2ff2',
  check: '#16a34a',
  panel: '#ffffff',
};

function clean(c: Content): Scene {
  const M = CLEAN.margin;
  const o = new Overlay();
  const inner = W - 2 * M;

  const title = fitBlock(c.title, { font: 'bold', maxSize: 60, minSize: 32, maxWidth: inner, maxHeight: 220, maxLines: 3, leading: 1.14, balance: true });
  const titleTop = 58;
  let y = titleTop;
  if (title.lines.length) {
    o.layer(M - SLACK, y - SLACK, inner + 2 * SLACK, title.height + 16 + 8 + 2 * SLACK);
    o.block(title, 'bold', M, y, CLEAN.ink);
    y += title.height + 16;
    o.add(`<rect x="${M}" y="${n(y)}" width="84" height="8" rx="4" fill="${CLEAN.accent}"/>`);
    y += 8 + 30;
  }
  const photoTop = y;

  const bottom = H - 60;
  const minPhoto = 470;
  const gapAbove = c.price ? 74 : 40;
  const icon = 34;
  const features = fitList(c.features, {
    font: 'regular',
    maxSize: 32,
    minSize: 20,
    maxWidth: inner - icon - 20,
    maxHeight: Math.max(120, bottom - photoTop - minPhoto - gapAbove),
    maxLinesPerItem: 2,
    gap: 0.62,
    leading: 1.22,
  });
  const photoBottom = features.items.length ? bottom - features.height - gapAbove : H - (c.price ? 90 : 56);
  if (features.items.length) {
    o.layer(M - SLACK, bottom - features.height - SLACK, inner + 2 * SLACK, features.height + 2 * SLACK);
    drawList(o, features, M, bottom - features.height, 'regular', CLEAN.text, icon + 20, (cx, cy, size) =>
      checkIcon(cx, cy, Math.min(icon / 2, size * 0.6), CLEAN.check, '#ffffff'),
    );
  }

  if (c.price) {
    const p = pricePill(c.price, inner * 0.6, 46, 26);
    const px = W - M - 24 - p.w;
    const py = photoBottom - p.h / 2;
    o.layer(px - 4, py - 4, p.w + 8, p.h + 14);
    o.add(pill(px, py + 4, p.w, p.h, 'rgba(17,24,39,0.18)'));
    o.add(pill(px, py, p.w, p.h, CLEAN.ink));
    o.block(p.block, 'bold', px + p.w / 2, py + (p.h - p.block.height) / 2, '#ffffff', 'center');
  }

  return {
    background:
      `<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#f7f7fa"/><stop offset="1" stop-color="#e6e9f0"/></linearGradient></defs>` +
      `<rect width="${W}" height="${H}" fill="url(#bg)"/>` +
      `<circle cx="${W + 40}" cy="-40" r="330" fill="#efe8fd"/>` +
      `<circle cx="-120" cy="${H - 120}" r="260" fill="#e3f4e9" opacity="0.8"/>`,
    photo: { x: M, y: photoTop, width: inner, height: photoBottom - photoTop, radius: 30, fit: 'auto', background: CLEAN.panel, matchEdges: true, padding: 28 },
    layers: o.toLayers(),
  };
}

// ───────────────────────────── bold ─────────────────────────────

/** The bold template's title letter spacing, in em. */
const BOLD_TRACKING = 0.01;

const BOLD = {
  margin: 56,
  block: '#0e1324',
  block2: '#1b1446',
  title: '#ffffff',
  text: '#d4d9e6',
  accent: '#ffd21f',
  slant: 34,
};

function bold(c: Content): Scene {
  const M = BOLD.margin;
  const o = new Overlay();
  const inner = W - 2 * M;
  const maxBlock = H - 560; // keep at least 560 of photo

  const title = fitBlock(c.title.toLocaleUpperCase('ru'), {
    font: 'bold',
    maxSize: 56,
    minSize: 30,
    maxWidth: inner,
    maxHeight: 200,
    maxLines: 3,
    leading: 1.1,
    tracking: BOLD_TRACKING,
    balance: true,
  });
  const marker = 26;
  const padTop = 64;
  const padBottom = 60;
  const features = fitList(c.features, {
    font: 'regular',
    maxSize: 30,
    minSize: 19,
    maxWidth: inner - marker - 12,
    maxHeight: Math.max(120, maxBlock - padTop - title.height - 34 - padBottom),
    maxLinesPerItem: 2,
    gap: 0.5,
    leading: 1.22,
  });

  const between = title.lines.length && features.items.length ? 34 : 0;
  const blockH = Math.max(260, padTop + title.height + between + features.height + padBottom);
  const blockTop = H - blockH; // at the middle of the slanted edge
  const edgeL = blockTop + BOLD.slant;
  const edgeR = blockTop - BOLD.slant;

  // The block is the (cached) background; the photo is cut along the slant above
  // it and shaded towards it; the accent stripe sits on the cut.
  o.layer(0, edgeR - 14, W, edgeL - edgeR + 18);
  o.add(`<polygon points="0,${n(edgeL - 12)} ${W},${n(edgeR - 12)} ${W},${n(edgeR + 2)} 0,${n(edgeL + 2)}" fill="${BOLD.accent}"/>`);

  let y = blockTop + padTop;
  if (title.lines.length) {
    o.layer(M - SLACK, y - SLACK, inner + 2 * SLACK, title.height + 2 * SLACK);
    o.block(title, 'bold', M, y, BOLD.title, 'left');
    y += title.height + between;
  }
  if (features.items.length) {
    o.layer(M - SLACK, y - SLACK, inner + 2 * SLACK, features.height + 2 * SLACK);
    drawList(o, features, M, y, 'regular', BOLD.text, marker + 12, (cx, cy, size) => {
      const s = Math.min(9, size * 0.3);
      return `<rect x="${n(cx - s)}" y="${n(cy - s)}" width="${n(2 * s)}" height="${n(2 * s)}" fill="${BOLD.accent}" transform="rotate(45 ${n(cx)} ${n(cy)})"/>`;
    });
  }

  if (c.price) {
    const p = pricePill(c.price, inner * 0.62, 48, 26);
    const px = W - M - p.w;
    const py = edgeR - 12 - p.h - 26;
    o.layer(px - 4, py - 4, p.w + 8, p.h + 14);
    o.add(pill(px, py + 5, p.w, p.h, 'rgba(0,0,0,0.28)'));
    o.add(pill(px, py, p.w, p.h, BOLD.accent));
    o.block(p.block, 'bold', px + p.w / 2, py + (p.h - p.block.height) / 2, '#111111', 'center');
  }

  return {
    background:
      `<defs><linearGradient id="blk" gradientUnits="userSpaceOnUse" x1="0" y1="${H / 2}" x2="${W}" y2="${H}"><stop offset="0" stop-color="${BOLD.block}"/><stop offset="1" stop-color="${BOLD.block2}"/></linearGradient></defs>` +
      `<rect width="${W}" height="${H}" fill="url(#blk)"/>`,
    photo: {
      x: 0,
      y: 0,
      width: W,
      height: Math.ceil(edgeL),
      radius: 0,
      bottom: { left: edgeL, right: edgeR },
      shade: { height: 230, opacity: 0.35 },
      fit: 'auto',
      background: 'blur',
      matchEdges: true,
    },
    layers: o.toLayers(),
  };
}

// ───────────────────────────── promo ─────────────────────────────

const PROMO = {
  margin: 56,
  from: '#ff5e1a',
  to: '#e8106e',
  badge: '#ffe81a',
  chipText: '#3a0b2e',
};

function starburst(cx: number, cy: number, r: number, points: number, depth: number): string {
  const pts: string[] = [];
  for (let i = 0; i < points * 2; i++) {
    const a = (Math.PI * i) / points - Math.PI / 2;
    const rr = i % 2 === 0 ? r : r * depth;
    pts.push(`${n(cx + rr * Math.cos(a))},${n(cy + rr * Math.sin(a))}`);
  }
  return pts.join(' ');
}

function promo(c: Content): Scene {
  const M = PROMO.margin;
  const o = new Overlay();
  const inner = W - 2 * M;

  const title = fitBlock(c.title, { font: 'bold', maxSize: 58, minSize: 30, maxWidth: inner, maxHeight: 210, maxLines: 3, leading: 1.12, balance: true });
  const titleTop = 54;
  if (title.lines.length) {
    o.layer(M - SLACK, titleTop - SLACK, inner + 2 * SLACK, title.height + 2 * SLACK);
    o.block(title, 'bold', W / 2, titleTop, '#ffffff', 'center');
  }
  const photoTop = title.lines.length ? titleTop + title.height + 32 : M;

  // Features as centred chips sharing one size.
  const padX = 0.8;
  const padY = 0.42;
  const spacing = 0.34;
  const bottom = H - 52;
  const minPhoto = 470;
  const features = fitList(c.features, {
    font: 'regular',
    maxSize: 30,
    minSize: 19,
    maxWidth: inner - 2 * padX * 30,
    maxHeight: Math.max(120, bottom - photoTop - minPhoto - 36),
    maxLinesPerItem: 2,
    gap: 2 * padY + spacing,
    leading: 1.2,
  });
  const chipsH = features.items.length ? features.height + 2 * padY * features.size : 0;
  const chipsTop = bottom - chipsH;
  if (features.items.length) {
    o.layer(0, chipsTop - 2, W, chipsH + 4);
    let y = chipsTop;
    const tops: number[] = [];
    for (const item of features.items) {
      const px = padX * item.size;
      const py = padY * item.size;
      const w = item.width + 2 * px;
      const h = item.height + 2 * py;
      const r = Math.min(h / 2, item.size * 0.9);
      o.add(`<rect x="${n(W / 2 - w / 2)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" rx="${n(r)}" fill="#ffffff" fill-opacity="0.94"/>`);
      tops.push(y + py);
      y += h + spacing * item.size;
    }
    o.list(features.items, tops, 'regular', W / 2, PROMO.chipText, 'center');
  }

  const photoBottom = features.items.length ? chipsTop - 36 : H - M;

  if (c.price) {
    const r = 136;
    const cx = W - M - r + 40;
    const cy = photoTop + r - 34;
    const price = fitBlock(c.price, { font: 'bold', maxSize: 60, minSize: 24, maxWidth: r * 1.44, maxHeight: r * 1.2, maxLines: 2, leading: 1.05 });
    const rot = `transform="rotate(-10 ${n(cx)} ${n(cy)})"`;
    o.layer(cx - r - 4, cy - r - 4, 2 * r + 14, 2 * r + 16);
    o.add(`<polygon points="${starburst(cx + 3, cy + 7, r, 18, 0.9)}" fill="#000000" fill-opacity="0.18" ${rot}/>`);
    o.add(`<polygon points="${starburst(cx, cy, r, 18, 0.9)}" fill="${PROMO.badge}" ${rot}/>`);
    o.add(`<circle cx="${n(cx)}" cy="${n(cy)}" r="${n(r * 0.8)}" fill="none" stroke="${PROMO.chipText}" stroke-opacity="0.25" stroke-width="2" stroke-dasharray="6 6"/>`);
    o.block(price, 'bold', cx, cy - price.height / 2, '#1a1a1a', 'center', { degrees: -10, cx, cy });
  }

  return {
    background:
      `<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${PROMO.from}"/><stop offset="1" stop-color="${PROMO.to}"/></linearGradient></defs>` +
      `<rect width="${W}" height="${H}" fill="url(#bg)"/>` +
      `<circle cx="${W - 60}" cy="${H * 0.52}" r="380" fill="#ffffff" fill-opacity="0.07"/>` +
      `<circle cx="40" cy="120" r="240" fill="#ffffff" fill-opacity="0.08"/>` +
      `<circle cx="160" cy="${H - 80}" r="170" fill="#ffffff" fill-opacity="0.06"/>`,
    photo: { x: M, y: photoTop, width: inner, height: photoBottom - photoTop, radius: 36, fit: 'auto', background: '#ffffff', matchEdges: true, padding: 26 },
    layers: o.toLayers(),
  };
}

export function layout(template: TemplateId, content: Content): Scene {
  switch (template) {
    case 'clean':
      return clean(content);
    case 'bold':
      return bold(content);
    case 'promo':
      return promo(content);
  }
}
