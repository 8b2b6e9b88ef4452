/**
 * The cut-out benchmark set: product shots drawn in code (bottles, boxes, shoes,
 * jars with shading, labels and texture) composited onto plain, gradient,
 * textured and cluttered backgrounds, each with its true mask from the
 * compositing. Deterministic: picture i of the set is the same on every run
 * (a seeded PRNG; noise is added in JS, not by libvips).
 */
import sharp from 'sharp';

export const CUTOUT_CLASSES = ['plain', 'gradient', 'textured', 'cluttered'] as const;
export type CutoutClass = (typeof CUTOUT_CLASSES)[number];

export const PRODUCT_KINDS = ['bottle', 'box', 'shoe', 'jar'] as const;
export type ProductKind = (typeof PRODUCT_KINDS)[number];

export interface SynthCase {
  index: number;
  cls: CutoutClass;
  product: ProductKind;
  /** JPEG, like a phone upload. */
  photo: Buffer;
  width: number;
  height: number;
  /** True mask: one byte per pixel, 255 = product. */
  mask: Buffer;
}

/** mulberry32: small, fast, good enough for picking shapes and colours. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const between = (r: Rand, a: number, b: number) => a + (b - a) * r();

function hsl(h: number, s: number, l: number): string {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  const hex = (v: number) => Math.round(v * 255).toString(16).padStart(2, '0');
  return `#${hex(f(0))}${hex(f(8))}${hex(f(4))}`;
}

const f1 = (v: number) => v.toFixed(1);

/** Horizontal shading of a cylinder-like body: dark rims, a highlight left of centre. */
function shadeGradient(id: string, hue: number, sat: number, light: number): string {
  const c = (dl: number) => hsl(hue, sat, Math.max(0.04, Math.min(0.96, light + dl)));
  return `<linearGradient id="${id}" x1="0" y1="0" x2="1" y2="0">` +
    `<stop offset="0" stop-color="${c(-0.22)}"/><stop offset="0.22" stop-color="${c(0.02)}"/>` +
    `<stop offset="0.36" stop-color="${c(0.16)}"/><stop offset="0.6" stop-color="${c(0)}"/><stop offset="1" stop-color="${c(-0.26)}"/></linearGradient>`;
}

/** A product drawn in a box (x, y, w, h) of the picture: its SVG body and defs. */
function productSvg(kind: ProductKind, r: Rand, x: number, y: number, w: number, h: number): string {
  const hue = between(r, 0, 360);
  const sat = between(r, 0.25, 0.85);
  const light = between(r, 0.22, 0.62);
  const labelHue = (hue + between(r, 90, 270)) % 360;
  const label = hsl(labelHue, between(r, 0.2, 0.9), between(r, 0.35, 0.92));
  const ink = hsl(labelHue, 0.5, between(r, 0.08, 0.3));
  const stripes = (lx: number, ly: number, lw: number, lh: number) => {
    let s = '';
    const n = 2 + Math.floor(r() * 3);
    for (let i = 0; i < n; i++) {
      s += `<rect x="${f1(lx + lw * 0.12)}" y="${f1(ly + lh * (0.2 + (0.6 * i) / n))}" width="${f1(lw * between(r, 0.35, 0.76))}" height="${f1(lh * 0.07)}" fill="${ink}" opacity="0.85"/>`;
    }
    return s;
  };
  const cx = x + w / 2;
  switch (kind) {
    case 'bottle': {
      const bw = w * 0.62;
      const neckW = bw * between(r, 0.3, 0.42);
      const shoulder = y + h * 0.3;
      const neckTop = y + h * 0.1;
      const rad = bw * 0.12;
      const body =
        `M${f1(cx - neckW / 2)},${f1(neckTop)} L${f1(cx - neckW / 2)},${f1(shoulder - h * 0.08)} ` +
        `Q${f1(cx - bw / 2)},${f1(shoulder - h * 0.04)} ${f1(cx - bw / 2)},${f1(shoulder + h * 0.06)} ` +
        `L${f1(cx - bw / 2)},${f1(y + h - rad)} Q${f1(cx - bw / 2)},${f1(y + h)} ${f1(cx - bw / 2 + rad)},${f1(y + h)} ` +
        `L${f1(cx + bw / 2 - rad)},${f1(y + h)} Q${f1(cx + bw / 2)},${f1(y + h)} ${f1(cx + bw / 2)},${f1(y + h - rad)} ` +
        `L${f1(cx + bw / 2)},${f1(shoulder + h * 0.06)} Q${f1(cx + bw / 2)},${f1(shoulder - h * 0.04)} ${f1(cx + neckW / 2)},${f1(shoulder - h * 0.08)} ` +
        `L${f1(cx + neckW / 2)},${f1(neckTop)} Z`;
      const capW = neckW * 1.18;
      return `<defs>${shadeGradient('pb', hue, sat, light)}${shadeGradient('pc', (hue + 180) % 360, 0.2, 0.2)}</defs>` +
        `<path d="${body}" fill="url(#pb)"/>` +
        `<rect x="${f1(cx - capW / 2)}" y="${f1(y)}" width="${f1(capW)}" height="${f1(h * 0.11)}" rx="${f1(capW * 0.12)}" fill="url(#pc)"/>` +
        `<rect x="${f1(cx - bw / 2)}" y="${f1(y + h * 0.46)}" width="${f1(bw)}" height="${f1(h * 0.3)}" fill="${label}"/>` +
        stripes(cx - bw / 2, y + h * 0.46, bw, h * 0.3) +
        `<rect x="${f1(cx - bw * 0.28)}" y="${f1(shoulder + h * 0.05)}" width="${f1(bw * 0.06)}" height="${f1(h * 0.55)}" fill="#ffffff" opacity="0.25"/>`;
    }
    case 'box': {
      const d = w * between(r, 0.14, 0.22);
      const fw = w - d;
      const fh = h - d;
      const top = hsl(hue, sat, Math.min(0.95, light + 0.18));
      const front = hsl(hue, sat, light);
      const side = hsl(hue, sat, Math.max(0.05, light - 0.16));
      return `<polygon points="${f1(x)},${f1(y + d)} ${f1(x + d)},${f1(y)} ${f1(x + w)},${f1(y)} ${f1(x + fw)},${f1(y + d)}" fill="${top}"/>` +
        `<rect x="${f1(x)}" y="${f1(y + d)}" width="${f1(fw)}" height="${f1(fh)}" fill="${front}"/>` +
        `<polygon points="${f1(x + fw)},${f1(y + d)} ${f1(x + w)},${f1(y)} ${f1(x + w)},${f1(y + fh)} ${f1(x + fw)},${f1(y + h)}" fill="${side}"/>` +
        `<rect x="${f1(x + fw * 0.1)}" y="${f1(y + d + fh * 0.3)}" width="${f1(fw * 0.8)}" height="${f1(fh * 0.36)}" rx="${f1(fw * 0.04)}" fill="${label}"/>` +
        stripes(x + fw * 0.1, y + d + fh * 0.3, fw * 0.8, fh * 0.36);
    }
    case 'shoe': {
      // A sneaker in profile, toe to the right: sole, upper, collar, laces.
      const sole = hsl(0, 0, pick(r, [0.92, 0.15, 0.85]));
      const sy = y + h * 0.78;
      const upper =
        `M${f1(x + w * 0.04)},${f1(sy)} L${f1(x + w * 0.06)},${f1(y + h * 0.2)} Q${f1(x + w * 0.2)},${f1(y + h * 0.08)} ${f1(x + w * 0.34)},${f1(y + h * 0.22)} ` +
        `Q${f1(x + w * 0.5)},${f1(y + h * 0.4)} ${f1(x + w * 0.72)},${f1(y + h * 0.46)} Q${f1(x + w * 0.98)},${f1(y + h * 0.52)} ${f1(x + w * 0.98)},${f1(sy)} Z`;
      let laces = '';
      for (let i = 0; i < 4; i++) {
        const lx = x + w * (0.36 + i * 0.08);
        const ly = y + h * (0.27 + i * 0.05);
        laces += `<line x1="${f1(lx)}" y1="${f1(ly)}" x2="${f1(lx + w * 0.06)}" y2="${f1(ly - h * 0.06)}" stroke="${label}" stroke-width="${f1(h * 0.025)}" stroke-linecap="round"/>`;
      }
      return `<defs><linearGradient id="su" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hsl(hue, sat, Math.min(0.9, light + 0.15))}"/><stop offset="1" stop-color="${hsl(hue, sat, Math.max(0.05, light - 0.12))}"/></linearGradient></defs>` +
        `<path d="${upper}" fill="url(#su)"/>` +
        `<path d="M${f1(x)},${f1(sy - h * 0.02)} L${f1(x + w)},${f1(sy - h * 0.02)} Q${f1(x + w)},${f1(y + h)} ${f1(x + w * 0.9)},${f1(y + h)} L${f1(x + w * 0.06)},${f1(y + h)} Q${f1(x)},${f1(y + h)} ${f1(x)},${f1(sy - h * 0.02)} Z" fill="${sole}"/>` +
        `<path d="M${f1(x + w * 0.2)},${f1(sy - h * 0.05)} Q${f1(x + w * 0.5)},${f1(y + h * 0.5)} ${f1(x + w * 0.85)},${f1(sy - h * 0.08)}" stroke="${label}" stroke-width="${f1(h * 0.05)}" fill="none"/>` +
        laces;
    }
    case 'jar': {
      const jw = w * 0.8;
      const lidH = h * 0.16;
      return `<defs>${shadeGradient('jb', hue, sat, light)}${shadeGradient('jl', labelHue, 0.3, 0.3)}</defs>` +
        `<rect x="${f1(cx - jw / 2)}" y="${f1(y + lidH * 0.8)}" width="${f1(jw)}" height="${f1(h - lidH * 0.8)}" rx="${f1(jw * 0.12)}" fill="url(#jb)"/>` +
        `<rect x="${f1(cx - jw * 0.54)}" y="${f1(y)}" width="${f1(jw * 1.08)}" height="${f1(lidH)}" rx="${f1(lidH * 0.2)}" fill="url(#jl)"/>` +
        `<rect x="${f1(cx - jw / 2)}" y="${f1(y + h * 0.4)}" width="${f1(jw)}" height="${f1(h * 0.34)}" fill="${label}"/>` +
        stripes(cx - jw / 2, y + h * 0.4, jw, h * 0.34);
    }
  }
}

function backgroundSvg(cls: CutoutClass, r: Rand, W: number, H: number, seed: number): string {
  const light = () => hsl(between(r, 0, 360), between(r, 0, 0.35), between(r, 0.7, 0.96));
  const any = () => hsl(between(r, 0, 360), between(r, 0.1, 0.7), between(r, 0.25, 0.9));
  switch (cls) {
    case 'plain':
      return `<rect width="${W}" height="${H}" fill="${r() < 0.8 ? light() : any()}"/>`;
    case 'gradient': {
      const a = light();
      const b = r() < 0.5 ? any() : light();
      if (r() < 0.5) {
        return `<defs><linearGradient id="bg" x1="${f1(r())}" y1="0" x2="${f1(r())}" y2="1"><stop offset="0" stop-color="${a}"/><stop offset="1" stop-color="${b}"/></linearGradient></defs><rect width="${W}" height="${H}" fill="url(#bg)"/>`;
      }
      return `<defs><radialGradient id="bg" cx="${f1(between(r, 0.3, 0.7))}" cy="${f1(between(r, 0.3, 0.6))}" r="0.8"><stop offset="0" stop-color="${a}"/><stop offset="1" stop-color="${b}"/></radialGradient></defs><rect width="${W}" height="${H}" fill="url(#bg)"/>`;
    }
    case 'textured': {
      // Wood, linen, concrete or tiles: fractal noise tinted over a base colour.
      const kind = pick(r, ['wood', 'linen', 'concrete', 'tiles'] as const);
      const base = any();
      const freq = kind === 'wood' ? '0.004 0.09' : kind === 'linen' ? '0.25 0.25' : '0.03';
      const amp = kind === 'wood' ? 0.35 : kind === 'linen' ? 0.18 : 0.22;
      let tiles = '';
      if (kind === 'tiles') {
        const s = between(r, 80, 160);
        tiles = `<defs><pattern id="t" width="${f1(s)}" height="${f1(s)}" patternUnits="userSpaceOnUse"><rect width="${f1(s)}" height="${f1(s)}" fill="none" stroke="#000" stroke-opacity="0.25" stroke-width="4"/></pattern></defs><rect width="${W}" height="${H}" fill="url(#t)"/>`;
      }
      return `<defs><filter id="n" x="0" y="0" width="100%" height="100%"><feTurbulence type="fractalNoise" baseFrequency="${freq}" numOctaves="3" seed="${seed % 1000}"/>` +
        `<feColorMatrix type="matrix" values="0 0 0 0 0  0 0 0 0 0  0 0 0 0 0  ${amp * 3} 0 0 0 ${-amp}"/></filter></defs>` +
        `<rect width="${W}" height="${H}" fill="${base}"/><rect width="${W}" height="${H}" fill="#000" filter="url(#n)"/>${tiles}`;
    }
    case 'cluttered': {
      // A table top with things lying around: many shapes of any colour, some behind the product.
      let s = `<rect width="${W}" height="${H}" fill="${any()}"/>`;
      const n = 18 + Math.floor(r() * 14);
      for (let i = 0; i < n; i++) {
        const cx = between(r, 0, W);
        const cy = between(r, 0, H);
        const sz = between(r, 40, 260);
        const fill = any();
        const rot = between(r, 0, 180);
        s += r() < 0.5
          ? `<rect x="${f1(cx - sz / 2)}" y="${f1(cy - sz / 3)}" width="${f1(sz)}" height="${f1(sz * 0.66)}" fill="${fill}" transform="rotate(${f1(rot)} ${f1(cx)} ${f1(cy)})"/>`
          : `<ellipse cx="${f1(cx)}" cy="${f1(cy)}" rx="${f1(sz / 2)}" ry="${f1(sz / 3)}" fill="${fill}" transform="rotate(${f1(rot)} ${f1(cx)} ${f1(cy)})"/>`;
      }
      return s;
    }
  }
}

/** Picture `index` (0-based): class = index mod 4, so any prefix of the set is balanced. */
export async function synthCase(index: number, opts: { width?: number; height?: number; seed?: number } = {}): Promise<SynthCase> {
  const W = opts.width ?? 960;
  const H = opts.height ?? 1280;
  const seed = (opts.seed ?? 15) * 100_003 + index * 7919;
  const r = rng(seed);
  const cls = CUTOUT_CLASSES[index % CUTOUT_CLASSES.length];
  const product = PRODUCT_KINDS[Math.floor(index / CUTOUT_CLASSES.length) % PRODUCT_KINDS.length];
  const aspect = product === 'shoe' ? 0.55 : product === 'box' ? between(r, 0.8, 1.25) : product === 'jar' ? between(r, 0.9, 1.2) : between(r, 1.8, 2.6);
  const scale = between(r, 0.4, 0.62);
  let pw = product === 'shoe' ? W * scale * 1.2 : (H * scale) / aspect;
  let ph = pw * aspect;
  if (pw > W * 0.72) { ph *= (W * 0.72) / pw; pw = W * 0.72; }
  if (ph > H * 0.7) { pw *= (H * 0.7) / ph; ph = H * 0.7; }
  const px = between(r, W * 0.1, W * 0.9 - pw);
  const py = between(r, H * 0.12, H * 0.88 - ph);
  const svg = (body: string) => Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${body}</svg>`);

  const productBody = productSvg(product, r, px, py, pw, ph);
  const bg = backgroundSvg(cls, r, W, H, seed);
  // A soft contact shadow (not part of the product) as a phone photo of a product on a surface has.
  const shadow = `<defs><filter id="sh" x="-50%" y="-50%" width="200%" height="200%"><feGaussianBlur stdDeviation="${f1(ph * 0.03)}"/></filter></defs>` +
    `<ellipse cx="${f1(px + pw / 2 + pw * 0.05)}" cy="${f1(py + ph)}" rx="${f1(pw * 0.55)}" ry="${f1(ph * 0.035)}" fill="#000" opacity="${f1(between(r, 0.15, 0.4))}" filter="url(#sh)"/>`;

  const productRgba = await sharp(svg(productBody)).ensureAlpha().raw().toBuffer();
  const mask = Buffer.allocUnsafe(W * H);
  for (let i = 0; i < W * H; i++) mask[i] = productRgba[i * 4 + 3] >= 128 ? 255 : 0;

  const scene = await sharp(svg(bg + shadow + productBody)).removeAlpha().raw().toBuffer();
  // Sensor noise, seeded (sharp's own noise generator is not).
  const sigma = between(r, 2, 6);
  for (let i = 0; i < scene.length; i += 2) {
    const u = Math.max(1e-9, r());
    const v = r();
    const m = Math.sqrt(-2 * Math.log(u)) * sigma;
    scene[i] = Math.max(0, Math.min(255, scene[i] + m * Math.cos(2 * Math.PI * v)));
    if (i + 1 < scene.length) scene[i + 1] = Math.max(0, Math.min(255, scene[i + 1] + m * Math.sin(2 * Math.PI * v)));
  }
  const photo = await sharp(scene, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 86 }).toBuffer();
  return { index, cls, product, photo, width: W, height: H, mask };
}

/** The whole set, `count` pictures (at least 52: 13 per class). */
export async function* synthSet(count = 60, opts: { width?: number; height?: number; seed?: number } = {}): AsyncGenerator<SynthCase> {
  for (let i = 0; i < count; i++) yield synthCase(i, opts);
}
