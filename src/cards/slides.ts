/**
 * The set's infographic slides (900×1200 JPEG), typeset locally with the card renderer's
 * text facilities (fitted blocks, Pango-shaped lines): every word is ours.
 * - features: the product above, a panel with the title, the features and the price;
 * - detail: a close-up of the product with numbered callouts naming its features.
 */
import sharp from 'sharp';
import { backdropPixels } from './backdrops.ts';
import { Canvas, type RawImage } from './canvas.ts';
import { returnCanvasBuffer, takeCanvasBuffer } from './canvas-pool.ts';
import { DESIGN_HEIGHT, DESIGN_WIDTH, measureContent, type Content } from './designs.ts';
import type { FontId } from './fonts.ts';
import { hexRgb } from './photo.ts';
import type { TemplateId } from './templates.ts';
import { baselineOf, fitBlock, fitList, type Block } from './text.ts';
import { drawBox, type Align } from './typeset.ts';

// Every card and slide is drawn at the design size (scaled later for larger outputs).
const W = DESIGN_WIDTH;
const H = DESIGN_HEIGHT;

export interface ComposedSlide {
  jpeg: Buffer;
  width: number;
  height: number;
  /** What the slide carries besides the product (the validator's input). */
  shows: { text: boolean; price: boolean };
}

const ACCENT: Record<TemplateId, string> = { clean: '#5b4bdb', bold: '#1b1f33', promo: '#ff4f6d' };
const INK = '#1f2330';

interface Text { block: Block; font: FontId; x: number; top: number; fill: string; align: Align }

/** Paints typeset blocks onto the canvas, one Pango call per block. */
async function paintText(canvas: Canvas, texts: Text[]): Promise<void> {
  const masks = await Promise.all(texts.map((t) => drawBox({
    lines: t.block.lines.map((l) => l.text), font: t.font, size: t.block.size, lineHeight: t.block.lineHeight, tracking: t.block.tracking,
    fill: t.fill, align: t.align, x: t.x, boxWidth: t.block.maxWidth, baseline: baselineOf(t.block, t.top, 0),
  })));
  masks.forEach((ms, i) => { for (const m of ms) canvas.fillMask(m.mask, m.left, m.top, hexRgb(texts[i].fill)); });
}

/**
 * Shapes (SVG in slide pixels) as one RGBA layer blended over the canvas. Only the rows
 * from `top` down are drawn (a view box of that band): the shapes lie there, and drawing
 * and blending the empty rows above is half the cost of a full-slide layer.
 */
async function paintShapes(canvas: Canvas, svg: string, top = 0): Promise<void> {
  const y = Math.max(0, Math.min(H - 1, Math.floor(top)));
  const { data, info } = await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H - y}" viewBox="0 ${y} ${W} ${H - y}">${svg}</svg>`))
    .ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  canvas.blend({ data, width: info.width, height: info.height, channels: 4 }, 0, y);
}

/** The product scaled to fit a box (keeping its aspect), centred in it; returns where it went. */
async function placeProduct(canvas: Canvas, rgba: RawImage, box: { x: number; y: number; w: number; h: number }, zoom = 1) {
  const scale = Math.min(box.w / rgba.width, box.h / rgba.height) * zoom;
  const pw = Math.max(1, Math.round(rgba.width * scale));
  const ph = Math.max(1, Math.round(rgba.height * scale));
  const data = await sharp(rgba.data, { raw: { width: rgba.width, height: rgba.height, channels: 4 } })
    .resize(pw, ph, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
  const left = Math.round(box.x + (box.w - pw) / 2);
  const top = Math.round(box.y + (box.h - ph) / 2);
  canvas.blend({ data, width: pw, height: ph, channels: 4 }, left, top);
  return { left, top, width: pw, height: ph };
}

/** The slide's JPEG; its canvas buffer goes back to the pool once encoded. */
async function encode(canvas: Canvas): Promise<Buffer> {
  try {
    return await sharp(canvas.data, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90, chromaSubsampling: '4:2:0' }).toBuffer();
  } finally {
    returnCanvasBuffer(canvas.data);
  }
}

/** Features: the product in the upper part, then a panel with title, features (ticked) and price. */
export async function composeFeaturesSlide(rgba: RawImage, content: Content, template: TemplateId): Promise<ComposedSlide> {
  const accent = ACCENT[template];
  await measureContent(content);
  const canvas = Canvas.from(await backdropPixels(template, 3), W, H, takeCanvasBuffer());
  await placeProduct(canvas, rgba, { x: 150, y: 50, w: 600, h: 480 });
  const panel = { x: 48, y: 570, w: W - 96, h: H - 570 - 48 };
  const pad = 44;
  const title = fitBlock(content.title, { font: 'bold', maxSize: 52, minSize: 34, maxWidth: panel.w - 2 * pad, maxHeight: 140, maxLines: 2, balance: true });
  const priceH = content.price ? 84 : 0;
  const listTop = panel.y + pad + title.height + 28;
  const list = fitList(content.features, {
    font: 'regular', maxSize: 36, minSize: 24, maxWidth: panel.w - 2 * pad - 56, maxHeight: panel.y + panel.h - pad - priceH - listTop,
    maxLinesPerItem: 2, gap: 0.55,
  });
  let shapes = `<rect x="${panel.x}" y="${panel.y}" width="${panel.w}" height="${panel.h}" rx="36" fill="#ffffff" fill-opacity="0.94"/>`;
  const texts: Text[] = [{ block: title, font: 'bold', x: panel.x + pad, top: panel.y + pad, fill: INK, align: 'left' }];
  let y = listTop;
  for (const item of list.items) {
    const cy = baselineOf(item, y, 0) - item.size * 0.36;
    shapes += `<circle cx="${panel.x + pad + 16}" cy="${cy.toFixed(1)}" r="14" fill="${accent}"/>` +
      `<path d="M${panel.x + pad + 9} ${cy.toFixed(1)} l5 5 l9 -10" stroke="#fff" stroke-width="3.5" fill="none" stroke-linecap="round" stroke-linejoin="round"/>`;
    texts.push({ block: item, font: 'regular', x: panel.x + pad + 56, top: y, fill: INK, align: 'left' });
    y += item.height + list.gap;
  }
  if (content.price) {
    const price = fitBlock(content.price, { font: 'bold', maxSize: 44, minSize: 30, maxWidth: 400, maxHeight: 60, maxLines: 1 });
    const pw = price.width + 56;
    const py = panel.y + panel.h - pad - 70;
    shapes += `<rect x="${panel.x + pad}" y="${py}" width="${pw.toFixed(1)}" height="70" rx="35" fill="${accent}"/>`;
    texts.push({ block: price, font: 'bold', x: panel.x + pad + 28, top: py + (70 - price.height) / 2, fill: '#ffffff', align: 'left' });
  }
  await paintShapes(canvas, shapes, panel.y);
  await paintText(canvas, texts);
  return { jpeg: await encode(canvas), width: W, height: H, shows: { text: true, price: content.price != null } };
}

/** Close-up: the product large, cut by the frame, with up to 3 numbered callouts pointing at it. */
export async function composeDetailSlide(rgba: RawImage, content: Content, template: TemplateId): Promise<ComposedSlide> {
  const accent = ACCENT[template];
  await measureContent(content);
  const canvas = Canvas.from(await backdropPixels(template, 2), W, H, takeCanvasBuffer());
  const p = await placeProduct(canvas, rgba, { x: 60, y: 40, w: 780, h: 700 }, 1.25);
  const callouts = (content.features.length ? content.features : [content.title]).slice(0, 3);
  const band = { y: 760, h: H - 760 - 40 };
  const rowH = band.h / 3;
  let shapes = `<rect x="40" y="${band.y}" width="${W - 80}" height="${band.h}" rx="32" fill="#ffffff" fill-opacity="0.94"/>`;
  const texts: Text[] = [];
  let shapesTop = band.y;
  callouts.forEach((text, i) => {
    const n = String(i + 1);
    // Points spread over the visible product: upper left, middle right, lower left.
    const px = Math.min(W - 60, Math.max(60, p.left + p.width * [0.3, 0.7, 0.4][i]));
    const py = Math.min(740, Math.max(60, p.top + p.height * [0.25, 0.5, 0.7][i]));
    const cy = band.y + rowH * i + rowH / 2;
    shapesTop = Math.min(shapesTop, py - 16); // the point's ring: radius 12, stroke 5
    shapes += `<line x1="${px.toFixed(1)}" y1="${py.toFixed(1)}" x2="92" y2="${cy.toFixed(1)}" stroke="${accent}" stroke-width="3" stroke-opacity="0.8"/>` +
      `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="12" fill="#fff" stroke="${accent}" stroke-width="5"/>` +
      `<circle cx="92" cy="${cy.toFixed(1)}" r="30" fill="${accent}"/>`;
    const num = fitBlock(n, { font: 'bold', maxSize: 34, minSize: 34, maxWidth: 60, maxHeight: 60, maxLines: 1 });
    texts.push({ block: num, font: 'bold', x: 92, top: cy - num.height / 2, fill: '#ffffff', align: 'center' });
    const label = fitBlock(text, { font: 'regular', maxSize: 36, minSize: 24, maxWidth: W - 80 - 150, maxHeight: rowH - 16, maxLines: 2 });
    texts.push({ block: label, font: 'regular', x: 145, top: cy - label.height / 2, fill: INK, align: 'left' });
  });
  await paintShapes(canvas, shapes, shapesTop);
  await paintText(canvas, texts);
  return { jpeg: await encode(canvas), width: W, height: H, shows: { text: true, price: false } };
}
