/**
 * The main picture without a key: the cut-out product on a designed local
 * backdrop (studio sweeps, a surface with a horizon, a soft spotlight) in the
 * template's palette, standing on the floor line with a contact shadow so it
 * does not float. Three variants per template; variant 1 is always a clean
 * white studio (what the strictest marketplace main-picture rules ask for).
 * No text is drawn here: the main picture is the product.
 */
import sharp from 'sharp';
import { Canvas, type RawImage } from './canvas.ts';
import type { CutoutOk } from './cutout/index.ts';
import { DESIGN_HEIGHT, DESIGN_WIDTH } from './designs.ts';
import type { TemplateId } from './templates.ts';

export const VARIANTS = [1, 2, 3] as const;
export type Variant = (typeof VARIANTS)[number];

interface Backdrop {
  /** SVG body for a 900×1200 view box. */
  svg: string;
  /** Where the product stands, as a share of the height. */
  floor: number;
  /** Contact shadow strength (0..1); darker backdrops need more to show. */
  shadow: number;
}

// Every card and slide is drawn at the design size (scaled later for larger outputs).
const W = DESIGN_WIDTH;
const H = DESIGN_HEIGHT;

function studio(top: string, bottom: string, glow: string, glowOpacity: number): string {
  return `<defs><linearGradient id="s" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${top}"/><stop offset="1" stop-color="${bottom}"/></linearGradient>` +
    `<radialGradient id="g" cx="0.5" cy="0.45" r="0.55"><stop offset="0" stop-color="${glow}" stop-opacity="${glowOpacity}"/><stop offset="1" stop-color="${glow}" stop-opacity="0"/></radialGradient></defs>` +
    `<rect width="${W}" height="${H}" fill="url(#s)"/><rect width="${W}" height="${H}" fill="url(#g)"/>`;
}

function surface(wall: [string, string], floor: [string, string], horizon: number): string {
  const y = Math.round(H * horizon);
  return `<defs><linearGradient id="w" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${wall[0]}"/><stop offset="1" stop-color="${wall[1]}"/></linearGradient>` +
    `<linearGradient id="f" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${floor[0]}"/><stop offset="1" stop-color="${floor[1]}"/></linearGradient>` +
    `<linearGradient id="e" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#000" stop-opacity="0.10"/><stop offset="1" stop-color="#000" stop-opacity="0"/></linearGradient></defs>` +
    `<rect width="${W}" height="${y}" fill="url(#w)"/><rect y="${y}" width="${W}" height="${H - y}" fill="url(#f)"/>` +
    `<rect y="${y}" width="${W}" height="40" fill="url(#e)"/>`;
}

const WHITE: Backdrop = { svg: `<rect width="${W}" height="${H}" fill="#ffffff"/>`, floor: 0.86, shadow: 0.32 };

/** Palettes follow the templates: clean = cool light greys and lilac, bold = ink and navy, promo = warm orange/pink. */
const BACKDROPS: Record<TemplateId, [Backdrop, Backdrop, Backdrop]> = {
  clean: [
    WHITE,
    { svg: surface(['#f4f4f8', '#e9e9f1'], ['#dcdde6', '#cfd1dc'], 0.7), floor: 0.84, shadow: 0.38 },
    { svg: studio('#f2eefc', '#e3ecf4', '#ffffff', 0.9), floor: 0.85, shadow: 0.34 },
  ],
  bold: [
    WHITE,
    { svg: studio('#1b1f33', '#0b0e1a', '#4a5480', 0.55), floor: 0.85, shadow: 0.6 },
    { svg: surface(['#2a2f45', '#1a1e30'], ['#3a3f58', '#23273a'], 0.68), floor: 0.84, shadow: 0.55 },
  ],
  promo: [
    WHITE,
    { svg: studio('#ffe3cc', '#ffc2d6', '#ffffff', 0.8), floor: 0.85, shadow: 0.34 },
    { svg: surface(['#fff1e6', '#ffe0cc'], ['#f6c9a8', '#eab18f'], 0.7), floor: 0.84, shadow: 0.4 },
  ],
};

const rendered = new Map<string, Promise<Buffer>>();

export function backdropPixels(template: TemplateId, variant: Variant): Promise<Buffer> {
  const key = `${template}:${variant}`;
  let p = rendered.get(key);
  if (!p) {
    const b = BACKDROPS[template][variant - 1];
    p = sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${b.svg}</svg>`))
      .removeAlpha()
      .raw()
      .toBuffer();
    p.catch(() => rendered.delete(key));
    rendered.set(key, p);
  }
  return p;
}

/** An RGBA layer with a soft elliptical contact shadow: a wide faint one and a tight darker core. */
async function contactShadow(width: number, strength: number): Promise<RawImage> {
  const rx = width * 0.5;
  const ry = Math.max(6, width * 0.06);
  const lw = Math.ceil(rx * 2 + ry * 6);
  const lh = Math.ceil(ry * 8);
  const cx = lw / 2;
  const cy = lh / 2;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${lw}" height="${lh}">` +
    `<defs><filter id="b1" x="-50%" y="-50%" width="200%" height="200%"><feGaussianBlur stdDeviation="${(ry * 0.9).toFixed(1)}"/></filter>` +
    `<filter id="b2" x="-50%" y="-50%" width="200%" height="200%"><feGaussianBlur stdDeviation="${(ry * 0.3).toFixed(1)}"/></filter></defs>` +
    `<ellipse cx="${cx}" cy="${cy}" rx="${rx.toFixed(1)}" ry="${ry.toFixed(1)}" fill="#000" opacity="${(strength * 0.7).toFixed(2)}" filter="url(#b1)"/>` +
    `<ellipse cx="${cx}" cy="${cy - ry * 0.2}" rx="${(rx * 0.8).toFixed(1)}" ry="${(ry * 0.35).toFixed(1)}" fill="#000" opacity="${strength.toFixed(2)}" filter="url(#b2)"/></svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 4 };
}

export interface ComposedMain {
  jpeg: Buffer;
  width: number;
  height: number;
  /** Where the product was drawn on the picture. */
  product: { left: number; top: number; width: number; height: number };
  /** The picture before JPEG encoding and the scaled product (RGBA), when asked for (tests). */
  raw?: RawImage;
  productRgba?: RawImage;
}

/**
 * The main picture (900×1200) for one variant: backdrop, contact shadow, product.
 * The product keeps its aspect and is scaled to fill up to 78 % of the width and
 * 70 % of the height (marketplaces want the product to fill the frame).
 */
export async function composeMain(cut: Pick<CutoutOk, 'rgba'>, template: TemplateId, variant: Variant,
  opts: { keepRaw?: boolean; backdrop?: Buffer | null } = {}): Promise<ComposedMain> {
  const b = BACKDROPS[template]?.[variant - 1];
  if (!b) throw new TypeError(`no backdrop ${template}/${variant}`);
  const scale = Math.min((W * 0.78) / cut.rgba.width, (H * 0.7) / cut.rgba.height);
  const pw = Math.max(1, Math.round(cut.rgba.width * scale));
  const ph = Math.max(1, Math.round(cut.rgba.height * scale));
  const left = Math.round((W - pw) / 2);
  const top = Math.round(H * b.floor) - ph;
  const [bg, product, shadow] = await Promise.all([
    opts.backdrop ? scenePixels(opts.backdrop) : backdropPixels(template, variant),
    sharp(cut.rgba.data, { raw: { width: cut.rgba.width, height: cut.rgba.height, channels: 4 } })
      .resize(pw, ph, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer(),
    contactShadow(pw, b.shadow),
  ]);
  const canvas = Canvas.from(bg, W, H);
  canvas.blend(shadow, Math.round(left + pw / 2 - shadow.width / 2), Math.round(top + ph - shadow.height / 2));
  const productRgba: RawImage = { data: product, width: pw, height: ph, channels: 4 };
  canvas.blend(productRgba, left, top);
  const jpeg = await sharp(canvas.data, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90, chromaSubsampling: '4:2:0' }).toBuffer();
  return {
    jpeg,
    width: W,
    height: H,
    product: { left, top, width: pw, height: ph },
    ...(opts.keepRaw ? { raw: { data: canvas.data, width: W, height: H, channels: 3 as const }, productRgba } : {}),
  };
}

/** A backdrop scene from elsewhere (an image model): any encoded image, cropped to fill 900×1200. */
async function scenePixels(image: Buffer): Promise<Buffer> {
  return sharp(image, { limitInputPixels: 50_000_000 }).resize(W, H, { fit: 'cover' }).toColourspace('srgb').removeAlpha().raw().toBuffer();
}

/** All three variants of the main picture. */
export function composeVariants(cut: Pick<CutoutOk, 'rgba'>, template: TemplateId, opts: { keepRaw?: boolean } = {}): Promise<ComposedMain[]> {
  return Promise.all(VARIANTS.map((v) => composeMain(cut, template, v, opts)));
}
