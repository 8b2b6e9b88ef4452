/**
 * A raw RGB pixel buffer the card is assembled in. Blending a few layers in
 * plain typed-array loops is several times cheaper than libvips' general
 * composite (which works in float over the whole canvas), and it lets layers be
 * only as large as what they draw.
 */

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

export interface DrawOptions {
  /** Corner radius in pixels. */
  radius?: number;
  /** A straight bottom edge from (0, left) to (width, right), in pixels from the image's top. */
  bottom?: { left: number; right: number };
  /** Darken towards the bottom edge: full `opacity` black at the edge, none `height` pixels above it. */
  shade?: { height: number; opacity: number };
}

export class Canvas {
  private constructor(
    readonly data: Buffer,
    readonly width: number,
    readonly height: number,
  ) {}

  /**
   * A canvas initialised with a copy of `bg` (RGB, width × height), drawn into
   * `into` when that buffer has the right size (callers pool canvases to spare
   * the allocator a few MB per card).
   */
  static from(bg: Buffer, width: number, height: number, into?: Buffer): Canvas {
    if (bg.length !== width * height * 3) throw new RangeError('background size mismatch');
    const data = into && into.length === bg.length ? into : Buffer.allocUnsafeSlow(bg.length);
    bg.copy(data);
    return new Canvas(data, width, height);
  }

  /**
   * Draw an opaque image (RGB, or RGBA whose alpha is ignored) at (x, y),
   * clipped to the canvas, with optional anti-aliased rounded corners, a slanted
   * bottom edge, and a shade darkening towards that edge.
   */
  drawImage(img: RawImage, x: number, y: number, opts: DrawOptions = {}): void {
    const { data: src, width: w, height: h, channels: c } = img;
    const dst = this.data;
    const W = this.width;
    const r = Math.min(opts.radius ?? 0, w / 2, h / 2);
    const bl = opts.bottom?.left ?? h;
    const br = opts.bottom?.right ?? h;
    const shadeH = opts.shade?.height ?? 0;
    const shadeA = opts.shade?.opacity ?? 0;
    // Rows above this one are plain copies (no corner, edge or shade).
    const plainUntil = Math.min(r > 0 ? h - r : h, Math.floor(Math.min(bl, br)) - (shadeH > 0 ? Math.ceil(shadeH) : 0));
    const x0 = Math.max(0, -x);
    const x1 = Math.min(w, W - x);
    for (let j = 0; j < h; j++) {
      const cy = y + j;
      if (cy < 0 || cy >= this.height) continue;
      let dyc = 0;
      if (r > 0) {
        if (j < r) dyc = r - (j + 0.5);
        else if (j >= h - r) dyc = j + 0.5 - (h - r);
      }
      if (c === 3 && dyc <= 0 && j < plainUntil) {
        src.copy(dst, (cy * W + x + x0) * 3, (j * w + x0) * 3, (j * w + x1) * 3);
        continue;
      }
      for (let i = x0; i < x1; i++) {
        let cover = 1;
        if (r > 0) {
          let dxc = 0;
          if (i < r) dxc = r - (i + 0.5);
          else if (i >= w - r) dxc = i + 0.5 - (w - r);
          if (dxc > 0 && dyc > 0) {
            cover = r - Math.sqrt(dxc * dxc + dyc * dyc) + 0.5;
            if (cover <= 0) continue;
            if (cover > 1) cover = 1;
          }
        }
        const edge = bl + ((br - bl) * (i + 0.5)) / w;
        if (edge < h) {
          const e = edge - j;
          if (e <= 0) continue;
          if (e < 1) cover *= e;
        }
        let dark = 1;
        if (shadeH > 0) {
          const t = 1 - (edge - (j + 0.5)) / shadeH;
          if (t > 0) dark = 1 - shadeA * (t >= 1 ? 1 : t * t * (3 - 2 * t));
        }
        const s = (j * w + i) * c;
        const d = (cy * W + x + i) * 3;
        const k = cover * dark;
        const ic = 1 - cover;
        dst[d] = src[s] * k + dst[d] * ic + 0.5;
        dst[d + 1] = src[s + 1] * k + dst[d + 1] * ic + 0.5;
        dst[d + 2] = src[s + 2] * k + dst[d + 2] * ic + 0.5;
      }
    }
  }

  /**
   * Paint `rgb` through a coverage mask (a text box drawn by Pango) with its top-left at (x, y), clipped to
   * the canvas and to the box [x0, x1) × [y0, y1).
   */
  fillMask(mask: { data: Uint8Array; width: number; height: number }, x: number, y: number, rgb: readonly [number, number, number],
    clip = { x0: 0, y0: 0, x1: this.width, y1: this.height }): void {
    const { data: m, width: w, height: h } = mask;
    const dst = this.data;
    const W = this.width;
    const [r, g, b] = rgb;
    const i0 = Math.max(0, clip.x0 - x, -x);
    const i1 = Math.min(w, clip.x1 - x, W - x);
    const j0 = Math.max(0, clip.y0 - y, -y);
    const j1 = Math.min(h, clip.y1 - y, this.height - y);
    for (let j = j0; j < j1; j++) {
      let s = j * w + i0;
      let d = ((y + j) * W + x + i0) * 3;
      for (let i = i0; i < i1; i++, s++, d += 3) {
        const a = m[s];
        if (a === 0) continue;
        if (a === 255) {
          dst[d] = r;
          dst[d + 1] = g;
          dst[d + 2] = b;
        } else {
          const ia = 255 - a;
          dst[d] = (r * a + dst[d] * ia + 127) / 255;
          dst[d + 1] = (g * a + dst[d + 1] * ia + 127) / 255;
          dst[d + 2] = (b * a + dst[d + 2] * ia + 127) / 255;
        }
      }
    }
  }

  /** Blend an RGBA layer (straight, not premultiplied alpha) over the canvas at (x, y). */
  blend(layer: RawImage, x: number, y: number): void {
    if (layer.channels !== 4) {
      this.drawImage(layer, x, y);
      return;
    }
    const { data: src, width: w, height: h } = layer;
    const dst = this.data;
    const W = this.width;
    const x0 = Math.max(0, -x);
    const x1 = Math.min(w, W - x);
    for (let j = 0; j < h; j++) {
      const cy = y + j;
      if (cy < 0 || cy >= this.height) continue;
      let s = (j * w + x0) * 4;
      let d = (cy * W + x + x0) * 3;
      for (let i = x0; i < x1; i++, s += 4, d += 3) {
        const a = src[s + 3];
        if (a === 0) continue;
        if (a === 255) {
          dst[d] = src[s];
          dst[d + 1] = src[s + 1];
          dst[d + 2] = src[s + 2];
        } else {
          const ia = 255 - a;
          dst[d] = (src[s] * a + dst[d] * ia + 127) / 255;
          dst[d + 1] = (src[s + 1] * a + dst[d + 1] * ia + 127) / 255;
          dst[d + 2] = (src[s + 2] * a + dst[d + 2] * ia + 127) / 255;
        }
      }
    }
  }
}

/**
 * Put `inner` (RGB) at (left, top) in a width × height image and continue its
 * border outwards: each row/column beyond the photo repeats the photo's edge,
 * averaged over a few pixels and smoothed along the edge so noise does not
 * turn into streaks. For studio shots on a plain or graded backdrop.
 */
export function extendEdges(inner: RawImage, width: number, height: number, left: number, top: number): RawImage {
  const { data: src, width: w, height: h, channels: c } = inner;
  const out = Buffer.allocUnsafe(width * height * 3);
  const depth = Math.max(1, Math.min(4, w, h));
  // Edge profiles (RGB floats): averaged `depth` pixels inward, then box-smoothed.
  const profile = (count: number, at: (k: number, d: number) => number): Float32Array => {
    const p = new Float32Array(count * 3);
    for (let k = 0; k < count; k++) {
      for (let d = 0; d < depth; d++) {
        const s = at(k, d);
        p[k * 3] += src[s];
        p[k * 3 + 1] += src[s + 1];
        p[k * 3 + 2] += src[s + 2];
      }
      for (let ch = 0; ch < 3; ch++) p[k * 3 + ch] /= depth;
    }
    const r = Math.max(6, Math.round(count / 40));
    return smooth(smooth(p, count, r), count, r);
  };
  const leftP = profile(h, (k, d) => (k * w + d) * c);
  const rightP = profile(h, (k, d) => (k * w + (w - 1 - d)) * c);
  const topP = profile(w, (k, d) => (d * w + k) * c);
  const bottomP = profile(w, (k, d) => ((h - 1 - d) * w + k) * c);
  // Far from the photo, fade the continued edge into the border's mean colour.
  const mean = [0, 0, 0];
  for (const p of [leftP, rightP, topP, bottomP]) {
    const n = p.length / 3;
    for (let k = 0; k < n; k++) for (let ch = 0; ch < 3; ch++) mean[ch] += p[k * 3 + ch] / n / 4;
  }
  const fade = Math.max(24, Math.max(width, height) / 3);
  const put = (o: number, p: Float32Array, k: number, distance: number) => {
    const t = Math.min(1, distance / fade);
    out[o] = p[k * 3] * (1 - t) + mean[0] * t + 0.5;
    out[o + 1] = p[k * 3 + 1] * (1 - t) + mean[1] * t + 0.5;
    out[o + 2] = p[k * 3 + 2] * (1 - t) + mean[2] * t + 0.5;
  };
  // The photo's own pixels are copied a row at a time (a memcpy for RGB): per pixel in JS
  // this loop was 7 ms of a 40 ms card.
  const x0 = Math.min(width, Math.max(0, left));
  const x1 = Math.max(x0, Math.min(width, left + w));
  for (let y = 0; y < height; y++) {
    const iy = y - top;
    const row = y * width * 3;
    if (iy >= 0 && iy < h) {
      for (let x = 0; x < x0; x++) put(row + x * 3, leftP, iy, left - x);
      if (c === 3) {
        src.copy(out, row + x0 * 3, (iy * w + (x0 - left)) * 3, (iy * w + (x1 - left)) * 3);
      } else {
        for (let x = x0; x < x1; x++) {
          const s = (iy * w + (x - left)) * c;
          const o = row + x * 3;
          out[o] = src[s];
          out[o + 1] = src[s + 1];
          out[o + 2] = src[s + 2];
        }
      }
      for (let x = x1; x < width; x++) put(row + x * 3, rightP, iy, x - left - w + 1);
    } else {
      // Above or below the photo: continue the top/bottom edge; at the corners use the corner.
      const p = iy < 0 ? topP : bottomP;
      const distance = iy < 0 ? -iy : iy - h + 1;
      for (let x = 0; x < width; x++) {
        const ix = x - left;
        put(row + x * 3, p, ix < 0 ? 0 : ix >= w ? w - 1 : ix, distance);
      }
    }
  }
  return { data: out, width, height, channels: 3 };
}

/** Box blur of an RGB profile along its length, radius `r`. */
function smooth(p: Float32Array, count: number, r: number): Float32Array {
  const out = new Float32Array(p.length);
  for (let ch = 0; ch < 3; ch++) {
    let acc = 0;
    let n = 0;
    // Running window [k - r, k + r].
    for (let k = 0; k < Math.min(r, count); k++) {
      acc += p[k * 3 + ch];
      n++;
    }
    for (let k = 0; k < count; k++) {
      const add = k + r;
      if (add < count) {
        acc += p[add * 3 + ch];
        n++;
      }
      const drop = k - r - 1;
      if (drop >= 0) {
        acc -= p[drop * 3 + ch];
        n--;
      }
      out[k * 3 + ch] = acc / n;
    }
  }
  return out;
}
