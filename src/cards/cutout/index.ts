/**
 * The product cut out of the seller's photo, or a typed "use the photo framed"
 * when the mask cannot be trusted:
 *
 *   const r = await cutout(photo);                 // local, offline, no key
 *   if (r.kind === 'cutout') use(r.rgba, r.bbox);  // RGBA of the product only
 *   else tellSeller(r.reason);                     // the card frames the photo as before
 *
 * Providers (the local classical one; an HTTP API such as remove.bg or Photoroom
 * later) only produce an alpha mask and a confidence; the gate and the cut-out
 * image are made here, the same way for all of them.
 */
import sharp from 'sharp';
import { inspectPhoto } from '../photo.ts';
import type { RawImage } from '../canvas.ts';
import { localProvider } from './local.ts';

export type {
  FramedReason, CutoutBox, CutoutOk, CutoutFramed, CutoutResult, ProviderMask, CutoutProvider, CutoutOptions,
} from './types.ts';
import type { CutoutOk, CutoutResult, CutoutOptions, ProviderMask } from './types.ts';

/** Accepted masks on the benchmark set were all at IoU ≥ 0.9 with this gate (bench `cutout`). */
export const DEFAULT_MIN_CONFIDENCE = 0.5;

async function upright(photo: Buffer, maxSide: number): Promise<RawImage> {
  const { data, info } = await sharp(photo, { limitInputPixels: 50_000_000, failOn: 'error' })
    .autoOrient()
    .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .flatten({ background: '#ffffff' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

async function shrink(img: RawImage, maxSide: number): Promise<RawImage> {
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } })
    .resize(maxSide, maxSide, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** Cut the product out of `photo`, or say why the card should frame the photo instead. Throws BadPhotoError for unusable files. */
export async function cutout(photo: Buffer, opts: CutoutOptions = {}): Promise<CutoutResult> {
  const provider = opts.provider ?? localProvider;
  const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
  await inspectPhoto(photo);
  opts.signal?.throwIfAborted();
  const full = await upright(photo, opts.maxSide ?? 1600);
  const small = full.width <= provider.workSize && full.height <= provider.workSize
    ? full
    : await shrink(full, provider.workSize);
  let m: ProviderMask;
  try {
    m = await provider.mask(small, opts.signal);
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    return { kind: 'framed', reason: 'provider_failed', confidence: 0, provider: provider.name, detail: err instanceof Error ? err.message : String(err) };
  }
  if (!m.ok) return { kind: 'framed', reason: m.reason, confidence: m.confidence, provider: provider.name, detail: m.detail };
  if (m.confidence < minConfidence) {
    return { kind: 'framed', reason: m.reason ?? 'low_confidence', confidence: m.confidence, provider: provider.name, detail: m.detail };
  }
  opts.signal?.throwIfAborted();
  // Scale the mask to the photo (bilinear: the feathered edge survives) and find the product's box.
  const alpha = m.width === full.width && m.height === full.height
    ? m.alpha
    : await sharp(m.alpha, { raw: { width: m.width, height: m.height, channels: 1 } })
        .resize(full.width, full.height, { fit: 'fill', kernel: 'linear' })
        .extractChannel(0)
        .raw()
        .toBuffer();
  let x0 = full.width, y0 = full.height, x1 = -1, y1 = -1;
  for (let y = 0; y < full.height; y++) {
    const row = y * full.width;
    for (let x = 0; x < full.width; x++) {
      if (alpha[row + x] >= 8) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return { kind: 'framed', reason: 'no_product', confidence: m.confidence, provider: provider.name, detail: 'empty mask' };
  const bbox = { left: x0, top: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
  const rgba = Buffer.allocUnsafe(bbox.width * bbox.height * 4);
  for (let y = 0; y < bbox.height; y++) {
    for (let x = 0; x < bbox.width; x++) {
      const s = (y + y0) * full.width + x + x0;
      const d = (y * bbox.width + x) * 4;
      rgba[d] = full.data[s * 3];
      rgba[d + 1] = full.data[s * 3 + 1];
      rgba[d + 2] = full.data[s * 3 + 2];
      rgba[d + 3] = alpha[s];
    }
  }
  return {
    kind: 'cutout',
    rgba: { data: rgba, width: bbox.width, height: bbox.height, channels: 4 },
    bbox,
    photoSize: { width: full.width, height: full.height },
    confidence: m.confidence,
    provider: provider.name,
  };
}

/** The cut-out as a PNG (for a preview to the seller, or a provider's cache). */
export function cutoutPng(r: CutoutOk): Promise<Buffer> {
  return sharp(r.rgba.data, { raw: { width: r.rgba.width, height: r.rgba.height, channels: 4 } }).png({ compressionLevel: 6 }).toBuffer();
}

/** The full-photo alpha mask (255 = product) at `photoSize`, for measuring against a true mask. */
export function fullMask(r: CutoutOk): Buffer {
  const { width, height } = r.photoSize;
  const out = Buffer.alloc(width * height);
  for (let y = 0; y < r.bbox.height; y++) {
    for (let x = 0; x < r.bbox.width; x++) out[(y + r.bbox.top) * width + x + r.bbox.left] = r.rgba.data[(y * r.bbox.width + x) * 4 + 3];
  }
  return out;
}

export { localProvider } from './local.ts';
