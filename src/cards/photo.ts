/**
 * The seller's photo: validation (with a typed error the bot can explain) and
 * placement into a box on the card (EXIF orientation, sRGB, cover/contain).
 *
 * Policy:
 * - Accepted formats: JPEG, PNG, WebP, GIF, TIFF, AVIF — sniffed from the bytes, so
 *   SVG, PDF, HEIC (not decodable by the bundled libvips) and anything else is
 *   'not_image' before an image library parses it.
 * - Animated images (GIF/WebP with more than one frame) are rejected as 'animated':
 *   a card needs one still photo, and picking a frame for the seller would silently
 *   guess. A single-frame GIF/WebP is fine.
 * - Decompression bombs: width × height is checked from the header against
 *   maxPixels (50 MP) before any pixel is decoded, and libvips' limitInputPixels is
 *   set as well, so a 30 000 × 30 000 PNG is refused in about a millisecond.
 * - Truncated or undecodable data is 'corrupt'. Mild damage libvips can decode
 *   through (failOn: 'error') is accepted: the seller sees the result.
 */
import sharp, { type SharpOptions, type Metadata, type Sharp } from 'sharp';
import { extendEdges, type RawImage } from './canvas.ts';

export type BadPhotoCode =
  | 'empty'
  | 'not_image'
  | 'too_large_bytes'
  | 'too_large_pixels'
  | 'too_small'
  | 'corrupt'
  | 'animated';

export class BadPhotoError extends Error {
  override readonly name = 'BadPhotoError';
  constructor(
    readonly code: BadPhotoCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const PHOTO_LIMITS = {
  /** Bigger files are refused before parsing (Telegram bots can download up to 20 MB). */
  maxBytes: 30 * 1024 * 1024,
  /** Width × height; 50 megapixels. */
  maxPixels: 50_000_000,
  /** Shortest side, after orientation, below which a card would look blurry. */
  minSide: 160,
} as const;

export type PhotoFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif';

export interface PhotoInfo {
  format: PhotoFormat;
  /** Upright size (EXIF orientation applied). */
  width: number;
  height: number;
  hasAlpha: boolean;
}

/** Identify the format from magic bytes; null when it is not one we accept. */
export function sniffFormat(buf: Uint8Array): PhotoFormat | null {
  const b = buf;
  const ascii = (from: number, s: string) => {
    for (let i = 0; i < s.length; i++) if (b[from + i] !== s.charCodeAt(i)) return false;
    return true;
  };
  if (b.length < 12) return null;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b[0] === 0x89 && ascii(1, 'PNG\r\n\x1a\n')) return 'png';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'gif';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'webp';
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*')) return 'tiff';
  if (ascii(4, 'ftyp')) {
    // ISO-BMFF: AVIF if the major or any compatible brand says so (HEIC does not decode here).
    const boxEnd = Math.min(b.length, ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0, 64);
    for (let o = 8; o + 4 <= boxEnd; o += 4) {
      if (o === 12) continue; // minor version
      if (ascii(o, 'avif') || ascii(o, 'avis')) return 'avif';
    }
  }
  return null;
}

const LOAD_OPTIONS: SharpOptions = {
  limitInputPixels: PHOTO_LIMITS.maxPixels,
  failOn: 'error',
  sequentialRead: true,
};

function mapSharpError(err: unknown): BadPhotoError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(msg)) return new BadPhotoError('too_large_pixels', 'The image has too many pixels.', { cause: err });
  if (/unsupported image format|not a known file format|compression format has not been built/i.test(msg)) {
    return new BadPhotoError('not_image', 'This file is not a supported image.', { cause: err });
  }
  return new BadPhotoError('corrupt', `The image cannot be decoded: ${msg}`, { cause: err });
}

/**
 * Check a photo from its header only (fast, no pixel decoding). Throws
 * BadPhotoError; corruption further into the file is found by placePhoto().
 */
export async function inspectPhoto(buf: Buffer): Promise<PhotoInfo> {
  if (!buf || buf.length === 0) throw new BadPhotoError('empty', 'The file is empty.');
  if (buf.length > PHOTO_LIMITS.maxBytes) {
    throw new BadPhotoError('too_large_bytes', `The file is larger than ${PHOTO_LIMITS.maxBytes >> 20} MB.`);
  }
  const format = sniffFormat(buf);
  if (!format) throw new BadPhotoError('not_image', 'This file is not a JPEG, PNG, WebP, GIF, TIFF or AVIF image.');
  let meta: Metadata;
  try {
    meta = await sharp(buf, LOAD_OPTIONS).metadata();
  } catch (err) {
    throw mapSharpError(err);
  }
  if (!meta.width || !meta.height) throw new BadPhotoError('corrupt', 'The image has no size.');
  if (meta.width * meta.height > PHOTO_LIMITS.maxPixels) {
    throw new BadPhotoError('too_large_pixels', `The image is ${meta.width}×${meta.height}, more than ${PHOTO_LIMITS.maxPixels / 1e6} megapixels.`);
  }
  if ((meta.pages ?? 1) > 1 && (format === 'gif' || format === 'webp')) {
    throw new BadPhotoError('animated', 'Animated images are not accepted; send a still photo.');
  }
  const swap = (meta.orientation ?? 1) >= 5;
  const width = swap ? meta.height : meta.width;
  const height = swap ? meta.width : meta.height;
  if (Math.min(width, height) < PHOTO_LIMITS.minSide) {
    throw new BadPhotoError('too_small', `The image is ${width}×${height}; send one at least ${PHOTO_LIMITS.minSide} px on each side.`);
  }
  return { format, width, height, hasAlpha: meta.hasAlpha === true };
}

/**
 * inspectPhoto plus a decode of the whole file at a small size, for the moment a photo
 * arrives: a truncated or damaged file is found now rather than after the order is
 * confirmed. JPEG shrink-on-load decodes at 1/8 scale, so even 12 MP costs a few ms.
 */
export async function verifyPhoto(buf: Buffer): Promise<PhotoInfo> {
  const info = await inspectPhoto(buf);
  try {
    await sharp(buf, { ...LOAD_OPTIONS, failOn: 'truncated' }).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
  } catch (err) {
    throw mapSharpError(err);
  }
  return info;
}

export type Fit = 'cover' | 'contain' | 'auto';

export interface Placement {
  /** Box size in pixels. */
  width: number;
  height: number;
  /** 'auto': cover when the aspect ratios are within 25 %, else contain. */
  fit: Fit;
  /** Fill behind a contained photo and under transparency: '#rrggbb', or 'blur' for a blurred, darkened copy of the photo. */
  background: string;
  /**
   * When a contained photo sits on a plain or gently graded backdrop (a studio
   * shot), continue that backdrop to the box edges instead of `background`, so
   * the photo has no visible edge. Such a photo also skips `padding`.
   */
  matchEdges?: boolean;
  /** Inset of a contained photo from the box edge, pixels. */
  padding?: number;
}

export type { RawImage };

/** Whether 'auto' placement crops (cover) for these sizes. */
export function coversFor(photo: { width: number; height: number }, box: { width: number; height: number }): boolean {
  const a = photo.width / photo.height / (box.width / box.height);
  return a <= 1.25 && a >= 1 / 1.25;
}

/**
 * Whether the photo's border is a plain backdrop that can be continued: along
 * each edge that will be extended (left/right and/or top/bottom), every channel
 * varies little (standard deviation under 12/255) and smoothly (neighbouring
 * pixels differ by under 2.5/255 on average): a flat or gently graded studio
 * background, not a scene or texture cut through.
 */
export function edgeIsSmooth(img: RawImage, sides: { horizontal: boolean; vertical: boolean } = { horizontal: true, vertical: true }): boolean {
  const { width: w, height: h } = img;
  const edges: Array<[(i: number) => [number, number], number]> = [];
  if (sides.vertical) edges.push([(i) => [i, 0], w], [(i) => [i, h - 1], w]);
  if (sides.horizontal) edges.push([(i) => [0, i], h], [(i) => [w - 1, i], h]);
  return edges.every(([at, count]) => {
    const s = edgeStats(img, at, count);
    return s.deviation < 12 && s.roughness < 2.5;
  });
}

/** Largest per-channel standard deviation and mean neighbour difference of `count` pixels picked by `at`. */
function edgeStats(img: RawImage, at: (i: number) => [number, number], count: number): { deviation: number; roughness: number } {
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  const rough = [0, 0, 0];
  const prev = [0, 0, 0];
  for (let i = 0; i < count; i++) {
    const [x, y] = at(i);
    const o = (y * img.width + x) * img.channels;
    for (let k = 0; k < 3; k++) {
      const v = img.data[o + k];
      sum[k] += v;
      sq[k] += v * v;
      if (i > 0) rough[k] += Math.abs(v - prev[k]);
      prev[k] = v;
    }
  }
  let deviation = 0;
  let roughness = 0;
  for (let k = 0; k < 3; k++) {
    const mean = sum[k] / count;
    deviation = Math.max(deviation, Math.sqrt(Math.max(0, sq[k] / count - mean * mean)));
    roughness = Math.max(roughness, rough[k] / Math.max(1, count - 1));
  }
  return { deviation, roughness };
}

export function hexRgb(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new TypeError(`bad colour ${hex}`);
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

async function toRaw(img: Sharp): Promise<RawImage> {
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels as 3 | 4 };
}

/** Copy `inner` onto an opaque RGB image at (left, top). */
function paste(base: RawImage, inner: RawImage, left: number, top: number): RawImage {
  for (let j = 0; j < inner.height; j++) {
    for (let i = 0; i < inner.width; i++) {
      const s = (j * inner.width + i) * inner.channels;
      const d = ((top + j) * base.width + left + i) * base.channels;
      base.data[d] = inner.data[s];
      base.data[d + 1] = inner.data[s + 1];
      base.data[d + 2] = inner.data[s + 2];
    }
  }
  return base;
}

/**
 * Decode, orient upright (EXIF), convert to sRGB and fit the photo into the box.
 * Returns opaque RGB pixels of exactly width × height. Decoding errors become
 * BadPhotoError('corrupt').
 */
export async function placePhoto(buf: Buffer, info: PhotoInfo, p: Placement): Promise<RawImage> {
  const width = Math.max(1, Math.round(p.width));
  const height = Math.max(1, Math.round(p.height));
  const cover = p.fit === 'cover' || (p.fit === 'auto' && coversFor(info, { width, height }));
  const flatBg = p.background === 'blur' ? '#ffffff' : p.background;
  const load = () => sharp(buf, LOAD_OPTIONS).autoOrient();
  try {
    if (cover) {
      return await toRaw(
        load().resize(width, height, { fit: 'cover', position: 'centre' }).flatten({ background: flatBg }).toColourspace('srgb'),
      );
    }
    // Contain: fill the box first; a photo whose backdrop can be continued needs no inset.
    let inner = await toRaw(load().resize(width, height, { fit: 'inside' }).flatten({ background: flatBg }).toColourspace('srgb'));
    const sides = { horizontal: inner.width < width, vertical: inner.height < height };
    const smooth = p.matchEdges === true && (sides.horizontal || sides.vertical) && edgeIsSmooth(inner, sides);
    const pad = Math.max(0, Math.round(p.padding ?? 0));
    if (!smooth && pad > 0) {
      inner = await toRaw(
        sharp(inner.data, { raw: inner }).resize(Math.max(1, width - 2 * pad), Math.max(1, height - 2 * pad), { fit: 'inside' }),
      );
    }
    const left = Math.floor((width - inner.width) / 2);
    const top = Math.floor((height - inner.height) / 2);
    if (smooth) return extendEdges(inner, width, height, left, top);
    if (p.background === 'blur') {
      // A soft, darkened backdrop made from the photo itself: shrink hard, blow up.
      const tiny = await toRaw(sharp(inner.data, { raw: inner }).resize(24, Math.max(1, Math.round((24 * height) / width)), { fit: 'cover' }));
      const backdrop = await toRaw(
        sharp(tiny.data, { raw: tiny })
          .resize(width, height, { fit: 'fill', kernel: 'cubic' })
          .blur(Math.max(2, width / 60))
          .linear(0.72, 0),
      );
      return paste(backdrop, inner, left, top);
    }
    const [r, g, b] = hexRgb(p.background);
    const base = Buffer.allocUnsafe(width * height * 3);
    for (let o = 0; o < base.length; o += 3) {
      base[o] = r;
      base[o + 1] = g;
      base[o + 2] = b;
    }
    return paste({ data: base, width, height, channels: 3 }, inner, left, top);
  } catch (err) {
    throw mapSharpError(err);
  }
}
