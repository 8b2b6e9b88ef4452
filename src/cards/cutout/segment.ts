/**
 * Classical product cut-out at a small working size (no model weights):
 *
 * 1. The background is learnt from the picture's border: a quadratic colour
 *    surface (plain backdrops and gradients), and colour clusters of what is
 *    left over (textures). Every pixel gets a distance from that model, averaged
 *    over a small window so texture grain does not speckle it.
 * 2. Far from the background = product, as a first guess; then a GrabCut-like
 *    refinement: colour models of sure product and sure background (clusters)
 *    vote per pixel, the vote is smoothed spatially, twice.
 * 3. Clean-up: the largest region and big companions, holes filled.
 * 4. Confidence from how the mask behaves, not from how it looks: does it stay
 *    the same when the threshold moves, does the refinement agree with the first
 *    guess, is the rest of the picture explained by the background model (not
 *    clutter), does its edge sit on image edges, does it leave the border alone.
 */
import { boxBlur, cleanMask, dilate, erode, iou } from './morph.ts';

export interface SegmentFeatures {
  /** Mask area / picture area. */
  area: number;
  /** IoU of the masks at 0.7× and 1.6× the threshold. */
  stability: number;
  /** IoU of the refined mask and the first guess. */
  agreement: number;
  /** Share of the background (away from the mask) that the background model does not explain. */
  clutter: number;
  /** Share of the picture's border ring inside the mask. */
  borderTouch: number;
  /** Mean gradient on the mask's edge / mean gradient over the picture. */
  edge: number;
  /** Area next to the mask that only a cast shadow explains, / mask area: a light product part may hide there. */
  shadow: number;
  /** Background residual spread (0 for a clean studio backdrop, larger for texture). */
  texture: number;
}

export type WeakPoint = 'empty' | 'too_large' | 'unstable' | 'cluttered' | 'touches_border' | 'weak_edges' | 'disagreement';

export interface Segmentation {
  /** 0/1 per pixel at the working size. */
  mask: Uint8Array;
  width: number;
  height: number;
  confidence: number;
  /** The factor that lowered confidence most. */
  weakest: WeakPoint;
  features: SegmentFeatures;
}

const K_BG = 6;
const K_FG = 5;

/** RGB → a shadow-tolerant opponent space: luminance counts less than colour. */
export function features(rgb: Uint8Array, n: number): Float32Array {
  const f = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const r = rgb[i * 3], g = rgb[i * 3 + 1], b = rgb[i * 3 + 2];
    f[i * 3] = ((r + g + b) / 3) * 0.6;
    f[i * 3 + 1] = (r - b) * 0.5;
    f[i * 3 + 2] = (2 * g - r - b) * 0.25;
  }
  return f;
}

/** Least squares fit of v = quadratic(x, y) on the given samples; returns 6 coefficients. */
function fitQuadratic(xs: Float32Array, ys: Float32Array, vs: Float32Array, use: Uint8Array): Float64Array {
  const A = new Float64Array(36);
  const B = new Float64Array(6);
  const t = new Float64Array(6);
  for (let i = 0; i < xs.length; i++) {
    if (!use[i]) continue;
    const x = xs[i], y = ys[i];
    t[0] = 1; t[1] = x; t[2] = y; t[3] = x * x; t[4] = x * y; t[5] = y * y;
    for (let a = 0; a < 6; a++) {
      B[a] += t[a] * vs[i];
      for (let b = 0; b < 6; b++) A[a * 6 + b] += t[a] * t[b];
    }
  }
  for (let a = 0; a < 6; a++) A[a * 6 + a] += 1e-6;
  // Gaussian elimination with partial pivoting.
  for (let c = 0; c < 6; c++) {
    let p = c;
    for (let r = c + 1; r < 6; r++) if (Math.abs(A[r * 6 + c]) > Math.abs(A[p * 6 + c])) p = r;
    if (p !== c) {
      for (let k = 0; k < 6; k++) [A[c * 6 + k], A[p * 6 + k]] = [A[p * 6 + k], A[c * 6 + k]];
      [B[c], B[p]] = [B[p], B[c]];
    }
    const d = A[c * 6 + c] || 1e-12;
    for (let r = c + 1; r < 6; r++) {
      const m = A[r * 6 + c] / d;
      if (!m) continue;
      for (let k = c; k < 6; k++) A[r * 6 + k] -= m * A[c * 6 + k];
      B[r] -= m * B[c];
    }
  }
  const coef = new Float64Array(6);
  for (let c = 5; c >= 0; c--) {
    let s = B[c];
    for (let k = c + 1; k < 6; k++) s -= A[c * 6 + k] * coef[k];
    coef[c] = s / (A[c * 6 + c] || 1e-12);
  }
  return coef;
}

const quad = (c: Float64Array, x: number, y: number) => c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * x * y + c[5] * y * y;

export interface Cluster { mean: Float32Array; inv: Float32Array; logNorm: number; weight: number }

/** k-means on 3-vectors (deterministic spread-out start), then per-cluster diagonal spread with a floor. */
export function clusters(data: Float32Array, idx: Int32Array, k: number, floor: number): Cluster[] {
  const n = idx.length;
  if (n === 0) return [];
  k = Math.min(k, n);
  const means: Float32Array[] = [];
  // Farthest-point start from the first sample: deterministic, covers the modes.
  means.push(data.slice(idx[0] * 3, idx[0] * 3 + 3));
  const dmin = new Float32Array(n).fill(Infinity);
  while (means.length < k) {
    const m = means[means.length - 1];
    let far = 0;
    for (let i = 0; i < n; i++) {
      const o = idx[i] * 3;
      const d = (data[o] - m[0]) ** 2 + (data[o + 1] - m[1]) ** 2 + (data[o + 2] - m[2]) ** 2;
      if (d < dmin[i]) dmin[i] = d;
      if (dmin[i] > dmin[far]) far = i;
    }
    if (dmin[far] < 1) break;
    means.push(data.slice(idx[far] * 3, idx[far] * 3 + 3));
  }
  k = means.length;
  const assign = new Int32Array(n);
  for (let it = 0; it < 6; it++) {
    const sum = new Float64Array(k * 3);
    const cnt = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const o = idx[i] * 3;
      let best = 0, bd = Infinity;
      for (let j = 0; j < k; j++) {
        const m = means[j];
        const d = (data[o] - m[0]) ** 2 + (data[o + 1] - m[1]) ** 2 + (data[o + 2] - m[2]) ** 2;
        if (d < bd) { bd = d; best = j; }
      }
      assign[i] = best;
      cnt[best]++;
      sum[best * 3] += data[o]; sum[best * 3 + 1] += data[o + 1]; sum[best * 3 + 2] += data[o + 2];
    }
    for (let j = 0; j < k; j++) if (cnt[j]) for (let c = 0; c < 3; c++) means[j][c] = sum[j * 3 + c] / cnt[j];
  }
  const sq = new Float64Array(k * 3);
  const cnt = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const o = idx[i] * 3, j = assign[i];
    cnt[j]++;
    for (let c = 0; c < 3; c++) sq[j * 3 + c] += (data[o + c] - means[j][c]) ** 2;
  }
  const out: Cluster[] = [];
  for (let j = 0; j < k; j++) {
    if (cnt[j] < Math.max(3, n * 0.01)) continue;
    const inv = new Float32Array(3);
    let logNorm = 0;
    for (let c = 0; c < 3; c++) {
      const s = Math.max(floor, Math.sqrt(sq[j * 3 + c] / cnt[j]));
      inv[c] = 1 / (s * s);
      logNorm -= Math.log(s);
    }
    out.push({ mean: means[j], inv, logNorm, weight: cnt[j] / n });
  }
  return out;
}

/** Min over clusters of the normalised (Mahalanobis, diagonal) distance, per pixel. */
function clusterDistance(data: Float32Array, cs: Cluster[], n: number): Float32Array {
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * 3;
    let best = Infinity;
    for (const c of cs) {
      const m = c.mean, v = c.inv;
      const q = (data[o] - m[0]) ** 2 * v[0] + (data[o + 1] - m[1]) ** 2 * v[1] + (data[o + 2] - m[2]) ** 2 * v[2];
      if (q < best) best = q;
    }
    d[i] = Math.sqrt(best / 3);
  }
  return d;
}

/** Log-likelihood under a cluster mixture (the best component stands for the sum). */
export function logLikelihood(data: Float32Array, cs: Cluster[], n: number): Float32Array {
  const l = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * 3;
    let best = -Infinity;
    for (const c of cs) {
      const m = c.mean, v = c.inv;
      const q = (data[o] - m[0]) ** 2 * v[0] + (data[o + 1] - m[1]) ** 2 * v[1] + (data[o + 2] - m[2]) ** 2 * v[2];
      const ll = Math.log(c.weight) + c.logNorm - 0.5 * q;
      if (ll > best) best = ll;
    }
    l[i] = best;
  }
  return l;
}

function percentile(values: Float32Array | number[], p: number): number {
  const s = Float32Array.from(values).sort();
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : 0;
}

/** Every k-th index where pick(i) holds; at most about `max` of them. */
export function sample(n: number, pick: (i: number) => boolean, max: number): Int32Array {
  let count = 0;
  for (let i = 0; i < n; i++) if (pick(i)) count++;
  const step = Math.max(1, Math.floor(count / max));
  const out: number[] = [];
  let seen = 0;
  for (let i = 0; i < n; i++) if (pick(i) && seen++ % step === 0) out.push(i);
  return Int32Array.from(out);
}

const smoothstep = (a: number, b: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - a) / (b - a)));
  return t * t * (3 - 2 * t);
};

/** Segment the product in an RGB picture (3 bytes per pixel, working size: a few hundred pixels a side). */
export function segment(rgb: Uint8Array, w: number, h: number): Segmentation {
  const n = w * h;
  const F = features(rgb, n);
  const bw = Math.max(3, Math.round(Math.min(w, h) * 0.03));
  const ring = new Uint8Array(n);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (x < bw || y < bw || x >= w - bw || y >= h - bw) ring[y * w + x] = 1;
  const ringIdx = sample(n, (i) => ring[i] === 1, 6000);

  // 1. Background surface from the border, refitted once without outliers.
  const xs = new Float32Array(ringIdx.length), ys = new Float32Array(ringIdx.length);
  ringIdx.forEach((p, i) => { xs[i] = ((p % w) / w) * 2 - 1; ys[i] = (Math.floor(p / w) / h) * 2 - 1; });
  const use = new Uint8Array(ringIdx.length).fill(1);
  const coefs: Float64Array[] = [];
  const spread: number[] = [];
  for (let c = 0; c < 3; c++) {
    const vs = Float32Array.from(ringIdx, (p) => F[p * 3 + c]);
    let coef = fitQuadratic(xs, ys, vs, use);
    const res = vs.map((v, i) => Math.abs(v - quad(coef, xs[i], ys[i])));
    const mad = percentile(res, 50) * 1.4826;
    for (let i = 0; i < vs.length; i++) if (res[i] > 3 * mad + 2) use[i] = 0;
    coef = fitQuadratic(xs, ys, vs, use);
    coefs.push(coef);
    spread.push(mad);
  }
  // Expected background per pixel: the border's quadratic surface at first; after a first
  // guess, a wide normalised blur of everything outside it (follows radial light and
  // vignettes the quadratic cannot), falling back to the surface where no background is near.
  const surface = new Float32Array(n * 3);
  for (let y = 0; y < h; y++) {
    const yy = (y / h) * 2 - 1;
    for (let x = 0; x < w; x++) {
      const xx = (x / w) * 2 - 1;
      const i = y * w + x;
      for (let c = 0; c < 3; c++) surface[i * 3 + c] = quad(coefs[c], xx, yy);
    }
  }
  const texture = Math.max(...spread);
  const R = new Float32Array(n * 3);
  const shadowed = new Float32Array(n); // distance the shadow explanation took away
  const pass = (expected: Float32Array) => {
    for (let i = 0; i < n * 3; i++) R[i] = F[i] - expected[i];
    // A clean backdrop is one cluster of noise around the surface; texture needs several.
    const bgClusters = clusters(R, ringIdx, texture < 5 ? 1 : K_BG, 2.5);
    const d = clusterDistance(R, bgClusters, n);
    // A cast shadow darkens the backdrop and keeps its hue: F ≈ s·expected with s in [0.6, 1].
    const sig = Math.max(2.5, texture);
    for (let i = 0; i < n; i++) {
      const o = i * 3;
      const e0 = expected[o], e1 = expected[o + 1], e2 = expected[o + 2];
      const ee = e0 * e0 + e1 * e1 + e2 * e2;
      if (ee < 1) continue;
      const s = Math.min(1, Math.max(0.6, (F[o] * e0 + F[o + 1] * e1 + F[o + 2] * e2) / ee));
      const q = Math.sqrt(((F[o] - s * e0) ** 2 + (F[o + 1] - s * e1) ** 2 + (F[o + 2] - s * e2) ** 2) / 3) / sig;
      const ds = q + 0.8;
      shadowed[i] = Math.max(0, Math.min(10, d[i]) - ds);
      if (ds < d[i]) d[i] = ds;
      if (d[i] > 10) d[i] = 10;
    }
    return boxBlur(d, w, h, 2);
  };
  let D = pass(surface);
  let ringD = Float32Array.from(ringIdx, (p) => D[p]);
  let T = Math.max(2.2, 1.35 * percentile(ringD, 99));
  const threshold = (t: number) => {
    const m = new Uint8Array(n);
    for (let i = 0; i < n; i++) m[i] = D[i] > t ? 1 : 0;
    return cleanMask(erode(dilate(m, w, h, 1), w, h, 1), w, h);
  };
  {
    const bgMask = dilate(threshold(T), w, h, 4);
    const rad = Math.max(4, Math.round(Math.max(w, h) / 8));
    const m = new Float32Array(n);
    for (let i = 0; i < n; i++) m[i] = bgMask[i] ? 0 : 1;
    const bm = boxBlur(boxBlur(m, w, h, rad), w, h, rad);
    const expected = new Float32Array(n * 3);
    const ch = new Float32Array(n);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < n; i++) ch[i] = F[i * 3 + c] * m[i];
      const bf = boxBlur(boxBlur(ch, w, h, rad), w, h, rad);
      for (let i = 0; i < n; i++) {
        const k = 0.02;
        expected[i * 3 + c] = (bf[i] + k * surface[i * 3 + c]) / (bm[i] + k);
      }
    }
    D = pass(expected);
    ringD = Float32Array.from(ringIdx, (p) => D[p]);
    T = Math.max(2.2, 1.35 * percentile(ringD, 99));
  }
  const guess = threshold(T);
  const low = threshold(T * 0.7);
  const high = threshold(T * 1.6);

  // 2. GrabCut-like refinement.
  let mask = guess;
  for (let it = 0; it < 2; it++) {
    const sureFg = erode(mask, w, h, 2);
    const nearFg = dilate(mask, w, h, 5);
    const fgIdx = sample(n, (i) => sureFg[i] === 1, 8000);
    const bgIdx = sample(n, (i) => nearFg[i] === 0, 8000);
    if (fgIdx.length < 20 || bgIdx.length < 20) break;
    const fgC = clusters(F, fgIdx, K_FG, 3);
    const bgC = clusters(F, bgIdx, K_FG + 1, 3);
    const lf = logLikelihood(F, fgC, n);
    const lb = logLikelihood(F, bgC, n);
    const E = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const vote = Math.max(-8, Math.min(8, lf[i] - lb[i]));
      const surface = Math.max(-4, Math.min(4, D[i] - T));
      E[i] = vote + surface;
    }
    const S = boxBlur(boxBlur(E, w, h, 2), w, h, 1);
    const next = new Uint8Array(n);
    for (let i = 0; i < n; i++) next[i] = S[i] > 0 ? 1 : 0;
    mask = cleanMask(erode(dilate(next, w, h, 1), w, h, 1), w, h);
  }

  // 4. Confidence.
  let area = 0;
  for (let i = 0; i < n; i++) area += mask[i];
  let ringIn = 0, ringN = 0;
  for (let i = 0; i < n; i++) if (ring[i]) { ringN++; ringIn += mask[i]; }
  const away = dilate(mask, w, h, 4);
  let bgN = 0, unexplained = 0;
  for (let i = 0; i < n; i++) if (!away[i]) { bgN++; if (D[i] > T) unexplained++; }
  // Edge strength: luminance gradient on the mask's boundary vs the picture's mean.
  let gAll = 0, gEdge = 0, edgeN = 0;
  const edgeBand = dilate(mask, w, h, 1);
  const inner = erode(mask, w, h, 1);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const gx = F[(i + 1) * 3] - F[(i - 1) * 3];
      const gy = F[(i + w) * 3] - F[(i - w) * 3];
      const cx = Math.abs(F[(i + 1) * 3 + 1] - F[(i - 1) * 3 + 1]) + Math.abs(F[(i + 1) * 3 + 2] - F[(i - 1) * 3 + 2]);
      const cy = Math.abs(F[(i + w) * 3 + 1] - F[(i - w) * 3 + 1]) + Math.abs(F[(i + w) * 3 + 2] - F[(i - w) * 3 + 2]);
      const g = Math.sqrt(gx * gx + gy * gy) + cx + cy;
      gAll += g;
      if (edgeBand[i] && !inner[i]) { gEdge += g; edgeN++; }
    }
  }
  const near = dilate(mask, w, h, 8);
  let shadowArea = 0;
  for (let i = 0; i < n; i++) if (near[i] && !mask[i] && shadowed[i] > 1.5) shadowArea++;
  const feats: SegmentFeatures = {
    shadow: area ? shadowArea / area : 0,
    area: area / n,
    stability: iou(low, high),
    agreement: iou(mask, guess),
    clutter: bgN ? unexplained / bgN : 1,
    borderTouch: ringN ? ringIn / ringN : 0,
    edge: edgeN && gAll ? gEdge / edgeN / (gAll / ((w - 2) * (h - 2))) : 0,
    texture,
  };
  const scores: Array<[WeakPoint, number]> = [
    ['empty', smoothstep(0.01, 0.03, feats.area)],
    ['too_large', 1 - smoothstep(0.75, 0.9, feats.area)],
    ['unstable', smoothstep(0.75, 0.93, feats.stability)],
    ['disagreement', smoothstep(0.8, 0.95, feats.agreement)],
    ['cluttered', 1 - smoothstep(0.004, 0.04, feats.clutter)],
    ['touches_border', 1 - smoothstep(0.03, 0.15, feats.borderTouch)],
    ['weak_edges', smoothstep(1.5, 3.5, feats.edge)],
  ];
  let confidence = 1;
  let weakest: WeakPoint = 'unstable';
  let worst = 2;
  for (const [name, s] of scores) {
    confidence *= s;
    if (s < worst) { worst = s; weakest = name; }
  }
  return { mask, width: w, height: h, confidence, weakest, features: feats };
}
