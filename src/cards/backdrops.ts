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
import { returnCanvasBuffer, takeCanvasBuffer } from './canvas-pool.ts';
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

/** A contact shadow's two blurred ellipses as coverage masks (0..255 at full opacity), before any strength. */
interface ShadowMasks { wide: Uint8Array; core: Uint8Array; width: number; height: number }

/**
 * The shadow's masks for a product `width` pixels wide. Both are heavy Gaussian blurs of
 * plain ellipses (low-frequency), so librsvg draws them at 1/f of the size (f up to 4,
 * keeping the tight core's blur ≥ 2 px there) and libvips scales them up: ~16× less blur
 * work than drawing at full size, for a difference of a level or two in a soft gradient.
 * One product width serves the 3 variants (only the strength differs), so this runs once
 * per order; the last few widths are kept.
 */
function shadowMasks(width: number): Promise<ShadowMasks> {
  let p = shadowCache.get(width);
  if (p) return p;
  p = (async () => {
    const rx = width * 0.5;
    const ry = Math.max(6, width * 0.06);
    const lw = Math.ceil(rx * 2 + ry * 6);
    const lh = Math.ceil(ry * 8);
    const f = Math.max(1, Math.min(4, Math.floor((ry * 0.3) / 2)));
    const sw = Math.ceil(lw / f);
    const sh = Math.ceil(lh / f);
    const mask = async (cy: number, erx: number, ery: number, sd: number) => {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${sw}" height="${sh}" viewBox="0 0 ${sw * f} ${sh * f}">` +
        `<defs><filter id="b" x="-50%" y="-50%" width="200%" height="200%"><feGaussianBlur stdDeviation="${sd.toFixed(1)}"/></filter></defs>` +
        `<ellipse cx="${lw / 2}" cy="${cy}" rx="${erx.toFixed(1)}" ry="${ery.toFixed(1)}" fill="#000" filter="url(#b)"/></svg>`;
      const data = await sharp(Buffer.from(svg)).ensureAlpha().extractChannel(3)
        .resize(sw * f, sh * f, { kernel: 'cubic' }).extract({ left: 0, top: 0, width: lw, height: lh }).raw().toBuffer();
      return new Uint8Array(data.buffer, data.byteOffset, data.length);
    };
    const [wide, core] = await Promise.all([
      mask(lh / 2, rx, ry, ry * 0.9),
      mask(lh / 2 - ry * 0.2, rx * 0.8, ry * 0.35, ry * 0.3),
    ]);
    return { wide, core, width: lw, height: lh };
  })();
  p.catch(() => shadowCache.delete(width));
  shadowCache.set(width, p);
  while (shadowCache.size > 8) shadowCache.delete(shadowCache.keys().next().value!);
  return p;
}
const shadowCache = new Map<number, Promise<ShadowMasks>>();

/** The contact shadow at `strength` as one coverage mask: the wide one at 0.7 × strength, the core over it at strength. */
function shadowMask(m: ShadowMasks, strength: number): { data: Uint8Array; width: number; height: number } {
  const kw = strength * 0.7;
  const kc = strength;
  const out = new Uint8Array(m.wide.length);
  for (let i = 0; i < out.length; i++) {
    const a = kw * m.wide[i];
    const b = kc * m.core[i];
    out[i] = (a + b - (a * b) / 255 + 0.5) | 0;
  }
  return { data: out, width: m.width, height: m.height };
}

/** What the 3 variants of one cut-out share: the product scaled once, and the shadow's masks. */
export interface PreparedProduct { product: RawImage & { channels: 4 }; shadow: ShadowMasks }

/** Scales the product to the main picture's size and draws its shadow masks: once per order, not per variant. */
export async function prepareProduct(cut: Pick<CutoutOk, 'rgba'>): Promise<PreparedProduct> {
  const { pw, ph } = productSize(cut.rgba);
  const [data, shadow] = await Promise.all([
    sharp(cut.rgba.data, { raw: { width: cut.rgba.width, height: cut.rgba.height, channels: 4 } })
      .resize(pw, ph, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer(),
    shadowMasks(pw),
  ]);
  return { product: { data, width: pw, height: ph, channels: 4 }, shadow };
}

/** The product keeps its aspect and fills up to 78 % of the width and 70 % of the height (the same in every variant). */
function productSize(rgba: { width: number; height: number }) {
  const scale = Math.min((W * 0.78) / rgba.width, (H * 0.7) / rgba.height);
  return { pw: Math.max(1, Math.round(rgba.width * scale)), ph: Math.max(1, Math.round(rgba.height * scale)) };
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
  opts: { keepRaw?: boolean; backdrop?: Buffer | null; prepared?: PreparedProduct | Promise<PreparedProduct> } = {}): Promise<ComposedMain> {
  const b = BACKDROPS[template]?.[variant - 1];
  if (!b) throw new TypeError(`no backdrop ${template}/${variant}`);
  const [bg, prep] = await Promise.all([
    opts.backdrop ? scenePixels(opts.backdrop) : backdropPixels(template, variant),
    opts.prepared ?? prepareProduct(cut),
  ]);
  const { product: productRgba, shadow } = prep;
  const pw = productRgba.width;
  const ph = productRgba.height;
  const left = Math.round((W - pw) / 2);
  const top = Math.round(H * b.floor) - ph;
  const canvas = Canvas.from(bg, W, H, takeCanvasBuffer());
  let jpeg: Buffer;
  try {
    canvas.fillMask(shadowMask(shadow, b.shadow), Math.round(left + pw / 2 - shadow.width / 2), Math.round(top + ph - shadow.height / 2), [0, 0, 0]);
    canvas.blend(productRgba, left, top);
    jpeg = await sharp(canvas.data, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90, chromaSubsampling: '4:2:0' }).toBuffer();
  } finally {
    if (!opts.keepRaw) returnCanvasBuffer(canvas.data); // the caller keeps the raw pixels
  }
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
  const prepared = prepareProduct(cut);
  return Promise.all(VARIANTS.map((v) => composeMain(cut, template, v, { ...opts, prepared })));
}
