/**
 * The generation stage, local path: photo → cut-out (or the photo framed, with why) →
 * 3 variants of the main picture → the seller's pick → the set (main picture and
 * infographic slides), checked against the marketplace before anyone delivers it.
 * Every step takes and returns encoded bytes, so each stage's output can be recorded
 * (Postgres) before the next one depends on it:
 *
 *   const cut = await cutoutStage(photo, { signal });          // {png, framedReason}
 *   const variants = await variantsStage(cut.png, { template, backdrops }); // 3 JPEGs
 *   const set = await setStage({ cutPng, mainJpeg, content, template, marketplace });
 *   // set.slides: [{role, jpeg, width, height}]; throws SetViolationError when not compliant
 */
import sharp from 'sharp';
import { composeMain, prepareProduct, VARIANTS, type Variant } from './backdrops.ts';
import { cutout, cutoutPng, type CutoutOptions, type FramedReason } from './cutout/index.ts';
import type { RawImage } from './canvas.ts';
import { blocking, validateSlides, type Slide, type Violation } from './marketplaces/validate.ts';
import type { MarketplaceId } from './marketplaces/presets.ts';
import type { TemplateId } from './templates.ts';
import { composeDetailSlide, composeFeaturesSlide } from './slides.ts';
import { prepareContent } from './render.ts';
import { withCpu } from './limit.ts';

/** What a backdrop source is asked for: one variant's scene, never the product or text. */
export interface BackdropContext {
  template: TemplateId;
  variant: Variant;
  marketplace: MarketplaceId;
  /** The product's name, for a prompt; a source must not draw it. */
  title: string;
  signal?: AbortSignal;
}

/**
 * Where a variant's backdrop comes from. An encoded image (any size: it is cropped to
 * fill 900×1200), or null for the designed local backdrop of that variant. An AI
 * provider plugs in here; it answers null on a refusal, an empty reply or an error.
 */
export type BackdropSource = (ctx: BackdropContext) => Promise<Buffer | null>;

/** No key: every variant on its designed local backdrop. */
export const localBackdrops: BackdropSource = async () => null;

export interface CutStage {
  /** The product alone (PNG, alpha), or the whole photo when it is framed. */
  png: Buffer;
  /** Null when cut out; otherwise why the photo is framed instead. */
  framedReason: FramedReason | null;
}

const FRAME_MAX_SIDE = 1600;

/** The cut-out behind its confidence gate; a photo the gate refuses is kept whole (framed). */
export async function cutoutStage(photo: Buffer, opts: Pick<CutoutOptions, 'signal' | 'provider'> = {}): Promise<CutStage> {
  const r = await cutout(photo, opts);
  if (r.kind === 'cutout') return { png: await cutoutPng(r), framedReason: null };
  const png = await sharp(photo, { limitInputPixels: 50_000_000 }).autoOrient()
    .resize(FRAME_MAX_SIDE, FRAME_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb').flatten({ background: '#ffffff' }).png({ compressionLevel: 6 }).toBuffer();
  return { png, framedReason: r.reason };
}

/** What the seller sees at once after sending the photo: the cut-out on a plain light ground (JPEG, ≤ 800 px). */
export async function cutoutPreview(png: Buffer): Promise<Buffer> {
  return sharp(png).resize(800, 800, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#f4f4f4' }).jpeg({ quality: 85 }).toBuffer();
}

/** A recorded cut-out (PNG) back as RGBA pixels. */
export async function decodeCut(png: Buffer): Promise<RawImage & { channels: 4 }> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 4 };
}

export interface VariantImage { n: Variant; jpeg: Buffer; width: number; height: number; source: 'local' | 'provided' }

/**
 * The 3 variants of the main picture: each on its source's backdrop, the local one when
 * the source has none. The sources (an AI call may take minutes) are awaited holding
 * nothing but the encoded bytes; the decoding and compositing then run in one CPU slot
 * (limit.ts), so hundreds of cards waiting on a provider never decode at once.
 */
export async function variantsStage(cutPng: Buffer, o: {
  template: TemplateId; marketplace: MarketplaceId; title: string; backdrops?: BackdropSource; signal?: AbortSignal;
}): Promise<VariantImage[]> {
  const source = o.backdrops ?? localBackdrops;
  const scenes = await Promise.all(VARIANTS.map(async (n) => {
    try {
      return await source({ template: o.template, variant: n, marketplace: o.marketplace, title: o.title, signal: o.signal });
    } catch {
      return null; // a source that fails leaves this variant on its local backdrop
    }
  }));
  o.signal?.throwIfAborted();
  return withCpu(async () => {
    const rgba = await decodeCut(cutPng);
    // The product scaled and its shadow drawn once for the 3 variants.
    const prepared = await prepareProduct({ rgba });
    const out: VariantImage[] = [];
    for (const [i, n] of VARIANTS.entries()) {
      o.signal?.throwIfAborted();
      const scene = scenes[i];
      const m = await composeMain({ rgba }, o.template, n, { backdrop: scene, prepared });
      out.push({ n, jpeg: m.jpeg, width: m.width, height: m.height, source: scene ? 'provided' : 'local' });
    }
    return out;
  }, o.signal);
}

export interface SetSlide { role: Slide['role']; jpeg: Buffer; width: number; height: number; shows: Slide['shows'] }

export class SetViolationError extends Error {
  constructor(readonly marketplace: MarketplaceId, readonly violations: Violation[]) {
    super(`the set breaks ${marketplace}'s picture rules: ${violations.map((v) => `slide ${v.slide + 1}: ${v.message} (${v.code})`).join('; ')}`);
  }
}

export interface SetInput {
  cutPng: Buffer;
  /** The chosen variant: the main picture as delivered. */
  mainJpeg: Buffer;
  title: string;
  features: string[];
  price?: string | null;
  template: TemplateId;
  marketplace: MarketplaceId;
  signal?: AbortSignal;
}

/** Composes the slides a set holds; replaceable in tests to prove the validator stops a bad one. */
export type SetComposer = (i: SetInput) => Promise<SetSlide[]>;

/** The set's slides, composed in one CPU slot (limit.ts). */
export const composeSet: SetComposer = (i) => withCpu(async () => {
  const rgba = await decodeCut(i.cutPng);
  const content = prepareContent(i);
  const main = await sharp(i.mainJpeg).metadata();
  const [features, detail] = await Promise.all([
    composeFeaturesSlide(rgba, content, i.template),
    composeDetailSlide(rgba, content, i.template),
  ]);
  return [
    { role: 'main', jpeg: i.mainJpeg, width: main.width ?? 0, height: main.height ?? 0, shows: { text: false, price: false } },
    { role: 'infographic', ...features },
    { role: 'detail', ...detail },
  ];
}, i.signal);

/** The set, checked against the marketplace's rules: a blocking violation throws SetViolationError. */
export async function setStage(i: SetInput, compose: SetComposer = composeSet): Promise<{ slides: SetSlide[]; warnings: Violation[] }> {
  const slides = await compose(i);
  i.signal?.throwIfAborted();
  const violations = await validateSlides(i.marketplace, slides.map((s) => ({ role: s.role, bytes: s.jpeg, shows: s.shows })));
  const errors = blocking(violations);
  if (errors.length) throw new SetViolationError(i.marketplace, errors);
  return { slides, warnings: violations.filter((v) => v.severity !== 'error') };
}
