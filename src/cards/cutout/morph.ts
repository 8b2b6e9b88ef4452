/** Small image operations on one-channel maps (masks 0/1, or float fields) for the cut-out. */

/** Box blur of a float field, radius r, separable running sums; edges clamp. */
export function boxBlur(src: Float32Array, w: number, h: number, r: number): Float32Array {
  if (r <= 0) return src.slice();
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  const n = 2 * r + 1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += src[row + Math.min(w - 1, Math.max(0, k))];
    for (let x = 0; x < w; x++) {
      tmp[row + x] = acc / n;
      acc += src[row + Math.min(w - 1, x + r + 1)] - src[row + Math.max(0, x - r)];
    }
  }
  for (let x = 0; x < w; x++) {
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += tmp[Math.min(h - 1, Math.max(0, k)) * w + x];
    for (let y = 0; y < h; y++) {
      out[y * w + x] = acc / n;
      acc += tmp[Math.min(h - 1, y + r + 1) * w + x] - tmp[Math.max(0, y - r) * w + x];
    }
  }
  return out;
}

/** Square dilation (grow = true) or erosion of a 0/1 mask by radius r. */
export function morph(mask: Uint8Array, w: number, h: number, r: number, grow: boolean): Uint8Array {
  if (r <= 0) return mask.slice();
  const f = new Float32Array(w * h);
  for (let i = 0; i < f.length; i++) f[i] = mask[i];
  const b = boxBlur(f, w, h, r);
  const out = new Uint8Array(w * h);
  // Any 1 in the window (dilate) / all 1 in the window (erode); edges clamp, so the border does not erode.
  const eps = 1e-4;
  for (let i = 0; i < out.length; i++) out[i] = grow ? (b[i] > eps ? 1 : 0) : (b[i] > 1 - eps ? 1 : 0);
  return out;
}

export const dilate = (m: Uint8Array, w: number, h: number, r: number) => morph(m, w, h, r, true);
export const erode = (m: Uint8Array, w: number, h: number, r: number) => morph(m, w, h, r, false);

/** 4-connected components of the 1s: a label per pixel (0 = none) and each component's size (index = label). */
export function components(mask: Uint8Array, w: number, h: number): { labels: Int32Array; sizes: number[]; touchesBorder: boolean[] } {
  const labels = new Int32Array(w * h);
  const sizes = [0];
  const touchesBorder = [false];
  const stack = new Int32Array(w * h);
  for (let s = 0; s < mask.length; s++) {
    if (!mask[s] || labels[s]) continue;
    const id = sizes.length;
    let top = 0;
    let size = 0;
    let border = false;
    stack[top++] = s;
    labels[s] = id;
    while (top > 0) {
      const p = stack[--top];
      size++;
      const x = p % w;
      const y = (p - x) / w;
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) border = true;
      if (x > 0 && mask[p - 1] && !labels[p - 1]) { labels[p - 1] = id; stack[top++] = p - 1; }
      if (x < w - 1 && mask[p + 1] && !labels[p + 1]) { labels[p + 1] = id; stack[top++] = p + 1; }
      if (y > 0 && mask[p - w] && !labels[p - w]) { labels[p - w] = id; stack[top++] = p - w; }
      if (y < h - 1 && mask[p + w] && !labels[p + w]) { labels[p + w] = id; stack[top++] = p + w; }
    }
    sizes.push(size);
    touchesBorder.push(border);
  }
  return { labels, sizes, touchesBorder };
}

/**
 * Keep the largest component and any other at least `minShare` of its size; then
 * fill holes (background regions not reaching the image edge) smaller than
 * `maxHole` of the kept area. Returns the cleaned mask.
 */
export function cleanMask(mask: Uint8Array, w: number, h: number, minShare = 0.15, maxHole = 0.3): Uint8Array {
  const { labels, sizes } = components(mask, w, h);
  let best = 0;
  for (let i = 1; i < sizes.length; i++) if (sizes[i] > (sizes[best] ?? 0)) best = i;
  const out = new Uint8Array(w * h);
  if (!best) return out;
  const keep = sizes.map((s, i) => i > 0 && s >= sizes[best] * minShare);
  let area = 0;
  for (let i = 0; i < out.length; i++) if (keep[labels[i]]) { out[i] = 1; area++; }
  const inv = new Uint8Array(w * h);
  for (let i = 0; i < inv.length; i++) inv[i] = out[i] ? 0 : 1;
  const holes = components(inv, w, h);
  for (let i = 0; i < inv.length; i++) {
    const l = holes.labels[i];
    if (l && !holes.touchesBorder[l] && holes.sizes[l] <= area * maxHole) out[i] = 1;
  }
  return out;
}

export function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] > 0;
    const y = b[i] > 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/** The convex hull of the 1s, filled (a 0/1 mask). */
export function convexHull(mask: Uint8Array, w: number, h: number): Uint8Array {
  // Leftmost and rightmost 1 per row are enough to span the hull.
  const pts: Array<[number, number]> = [];
  for (let y = 0; y < h; y++) {
    let l = -1, r = -1;
    for (let x = 0; x < w; x++) if (mask[y * w + x]) { if (l < 0) l = x; r = x; }
    if (l >= 0) { pts.push([l, y]); if (r !== l) pts.push([r, y]); }
  }
  const out = new Uint8Array(w * h);
  if (pts.length < 3) { for (const [x, y] of pts) out[y * w + x] = 1; return out; }
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: number[], a: number[], b: number[]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Array<[number, number]> = [], upper: Array<[number, number]> = [];
  for (const p of pts) { while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop(); lower.push(p); }
  for (let i = pts.length - 1; i >= 0; i--) { const p = pts[i]; while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop(); upper.push(p); }
  const hull = lower.slice(0, -1).concat(upper.slice(0, -1));
  // Counter-clockwise in (x, y-down) terms: a point is inside when it is on the same side of every edge.
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let inside = true;
      for (let k = 0; k < hull.length && inside; k++) if (cross(hull[k], hull[(k + 1) % hull.length], [x, y]) < 0) inside = false;
      if (inside) out[y * w + x] = 1;
    }
  }
  return out;
}

/** The one 4-connected component of the 1s with the most pixels inside `prior` (ties: the larger). */
export function bestComponent(mask: Uint8Array, w: number, h: number, prior: Uint8Array): Uint8Array {
  const { labels, sizes } = components(mask, w, h);
  const score = new Float64Array(sizes.length);
  for (let i = 0; i < labels.length; i++) if (labels[i]) score[labels[i]] += prior[i] ? 1 : 1e-6;
  let best = 0;
  for (let l = 1; l < sizes.length; l++) if (score[l] > score[best]) best = l;
  const out = new Uint8Array(w * h);
  if (best) for (let i = 0; i < out.length; i++) out[i] = labels[i] === best ? 1 : 0;
  return out;
}
