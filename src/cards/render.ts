/**
 * The local card renderer: photo + words → a marketplace card JPEG (sRGB, 3:4).
 * No key, no network; text is shaped and drawn by Pango (typeset.ts) with the shipped fonts.
 */
import sharp, { type JpegOptions } from 'sharp';
import { Canvas, type RawImage } from './canvas.ts';
import { DESIGN_HEIGHT, DESIGN_WIDTH, layout, measureContent, type Content, type Layer } from './designs.ts';
import { cpuLoad, cpuSlot } from './limit.ts';
import { hexRgb, inspectPhoto, placePhoto } from './photo.ts';
import { samplePhoto } from './sample.ts';
import { TEMPLATE_IDS, isTemplateId, type TemplateId } from './templates.ts';
import { FEATURE_MAX_CHARS, FEATURES_MAX, TITLE_MAX_CHARS, cleanText, formatPrice, truncateChars } from './text.ts';
import { drawBox, type TextBox } from './typeset.ts';

export type CardSize = 'standard' | 'large';

export const CARD_SIZES: Readonly<Record<CardSize, { width: number; height: number }>> = {
  standard: { width: 900, height: 1200 },
  large: { width: 1200, height: 1600 },
};

export interface CardInput {
  /** The seller's photo (JPEG, PNG, WebP, GIF, TIFF, AVIF). */
  photo: Buffer;
  /** Up to 60 characters are shown; longer is cut with "…". */
  title: string;
  /** Up to 5 are shown, each up to 80 characters; empty ones are skipped. */
  features: string[];
  /** "12990" → "12 990 ₽"; null/empty = no price. */
  price?: string | null;
  template: TemplateId;
  size?: CardSize;
}

export interface RenderOptions {
  signal?: AbortSignal;
}

export interface RenderedCard {
  jpeg: Buffer;
  width: number;
  height: number;
}

// Every card is a new image: libvips' operation cache would only hold memory.
sharp.cache(false);

/**
 * Pixels are sRGB throughout (photos are converted on load), and a JPEG without
 * an embedded profile is read as sRGB, so none is attached: attaching one makes
 * libvips run a colour transform over the whole card (≈8 ms) for no change.
 * Huffman optimisation would save ~5 % of bytes for ~2× encode time.
 */
const JPEG_OPTIONS: JpegOptions = { quality: 90, chromaSubsampling: '4:2:0', optimiseCoding: false };


const backgrounds = new Map<string, Promise<Buffer>>();

/** Spare canvas buffers per size; renders hold a CPU slot (limit.ts), so at most that many are in use. */
const canvasPool = new Map<CardSize, Buffer[]>();

function takeCanvasBuffer(size: CardSize): Buffer | undefined {
  return canvasPool.get(size)?.pop();
}

function returnCanvasBuffer(size: CardSize, buf: Buffer): void {
  let list = canvasPool.get(size);
  if (!list) canvasPool.set(size, (list = []));
  if (list.length < cpuLoad().max) list.push(buf);
}

function svgDoc(body: string, width: number, height: number, viewBox = `0 0 ${DESIGN_WIDTH} ${DESIGN_HEIGHT}`): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="${viewBox}">${body}</svg>`,
  );
}

/** The template's background as raw RGB pixels, rendered once per template and size. */
function background(template: TemplateId, size: CardSize, body: string): Promise<Buffer> {
  const key = `${template}:${size}`;
  let p = backgrounds.get(key);
  if (!p) {
    const { width, height } = CARD_SIZES[size];
    p = sharp(svgDoc(body, width, height)).removeAlpha().raw().toBuffer();
    p.catch(() => backgrounds.delete(key));
    backgrounds.set(key, p);
  }
  return p;
}

interface RasterLayer {
  /** The layer's shapes (null when it has none), drawn at (left, top). */
  img: RawImage | null;
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Rasterise one overlay layer's shapes at scale k (pixels per design unit), snapped to whole pixels. */
async function rasterLayer(layer: Layer, k: number, dims: { width: number; height: number }): Promise<RasterLayer | null> {
  const left = Math.max(0, Math.floor(layer.x * k));
  const top = Math.max(0, Math.floor(layer.y * k));
  const right = Math.min(dims.width, Math.ceil((layer.x + layer.width) * k));
  const bottom = Math.min(dims.height, Math.ceil((layer.y + layer.height) * k));
  if (right <= left || bottom <= top) return null;
  const w = right - left;
  const h = bottom - top;
  const viewBox = `${left / k} ${top / k} ${w / k} ${h / k}`;
  let img: RawImage | null = null;
  if (layer.svg) {
    const { data, info } = await sharp(svgDoc(layer.svg, w, h, viewBox)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    img = { data, width: info.width, height: info.height, channels: info.channels as 3 | 4 };
  }
  return { img, left, top, right, bottom };
}

/** A text box in design units scaled to the picture's pixels. */
export function scaleBox(t: TextBox, k: number): TextBox {
  return {
    ...t, size: t.size * k, lineHeight: t.lineHeight * k, x: t.x * k, boxWidth: t.boxWidth * k, baseline: t.baseline * k,
    ...(t.rotate ? { rotate: { ...t.rotate, cx: t.rotate.cx * k, cy: t.rotate.cy * k } } : {}),
    ...(t.items ? { items: t.items.map((i) => ({ ...i, baseline: i.baseline * k })) } : {}),
  };
}

/** Clean and bound the seller's words as the card will show them. */
export function prepareContent(input: Pick<CardInput, 'title' | 'features' | 'price'>): Content {
  return {
    title: truncateChars(cleanText(input.title ?? '', 'bold'), TITLE_MAX_CHARS),
    features: (input.features ?? [])
      .map((f) => truncateChars(cleanText(f ?? '', 'regular'), FEATURE_MAX_CHARS))
      .filter(Boolean)
      .slice(0, FEATURES_MAX),
    price: formatPrice(input.price),
  };
}

/**
 * Render one card. Throws BadPhotoError for photos that cannot be used, and the
 * signal's reason when aborted (checked between stages; a stage is a few ms).
 */
export async function renderCard(input: CardInput, opts: RenderOptions = {}): Promise<RenderedCard> {
  const { signal } = opts;
  if (!isTemplateId(input.template)) throw new TypeError(`unknown template: ${String(input.template)}`);
  const size: CardSize = input.size ?? 'standard';
  const dims = CARD_SIZES[size];
  if (!dims) throw new TypeError(`unknown card size: ${String(size)}`);
  // Renders in progress at once are bounded by the CPU limit, so memory stays flat under bursts.
  const release = await cpuSlot(signal);
  try {
    const info = await inspectPhoto(input.photo);
    signal?.throwIfAborted();
    const content = prepareContent(input);
    await measureContent(content);
    const scene = layout(input.template, content);
    const k = dims.width / DESIGN_WIDTH;
    const box = {
      left: Math.round(scene.photo.x * k),
      top: Math.round(scene.photo.y * k),
      width: Math.round(scene.photo.width * k),
      height: Math.round(scene.photo.height * k),
    };
    const [bg, masks, photo, ...layers] = await Promise.all([
      background(input.template, size, scene.background),
      Promise.all(scene.layers.map((l) => Promise.all(l.text.map((t) => drawBox(scaleBox(t, k)))))),
      placePhoto(input.photo, info, {
        width: box.width,
        height: box.height,
        fit: scene.photo.fit,
        background: scene.photo.background,
        matchEdges: scene.photo.matchEdges,
        padding: (scene.photo.padding ?? 0) * k,
      }),
      ...scene.layers.map((l) => rasterLayer(l, k, dims)),
    ]);
    signal?.throwIfAborted();
    const canvas = Canvas.from(bg, dims.width, dims.height, takeCanvasBuffer(size));
    try {
      const { bottom, shade } = scene.photo;
      canvas.drawImage(photo, box.left, box.top, {
        radius: scene.photo.radius * k,
        bottom: bottom && { left: bottom.left * k, right: bottom.right * k },
        shade: shade && { height: shade.height * k, opacity: shade.opacity },
      });
      scene.layers.forEach((layer, i) => {
        const l = layers[i];
        if (l?.img) canvas.blend(l.img, l.left, l.top);
        const clip = l && { x0: l.left, y0: l.top, x1: l.right, y1: l.bottom };
        layer.text.forEach((box, j) => {
          for (const m of masks[i][j]) if (clip) canvas.fillMask(m.mask, m.left, m.top, hexRgb(box.fill), clip);
        });
      });
      const jpeg = await sharp(canvas.data, { raw: { width: dims.width, height: dims.height, channels: 3 } })
        .jpeg(JPEG_OPTIONS)
        .toBuffer();
      return { jpeg, width: dims.width, height: dims.height };
    } finally {
      returnCanvasBuffer(size, canvas.data);
    }
  } finally {
    release();
  }
}

/** Start Pango and fontconfig and pre-render backgrounds so the first real card is as fast as the rest. */
export async function warmUp(): Promise<void> {
  const photo = await samplePhoto(400, 400);
  for (const template of TEMPLATE_IDS) {
    await renderCard({ photo, title: 'Ж', features: ['Ж'], price: '1', template });
  }
}
