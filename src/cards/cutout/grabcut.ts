/**
 * GrabCut (Rother, Kolmogorov, Blake 2004) at the working size, for pictures whose
 * background the border does not explain (a product on a table among other things):
 * colour models of product and background (clusters in the opponent colour space of
 * segment.ts), a graph cut with contrast-sensitive smoothness (maxflow.ts), repeated
 * a few times with the models refitted to the last cut.
 *
 * Labels of the trimap: 0 sure background, 1 probably background, 2 probably product, 3 sure product.
 */
import { GridGraph } from './maxflow.ts';
import { bestComponent, boxBlur, cleanMask, convexHull, dilate, erode, iou } from './morph.ts';
import { clusters, logLikelihood, sample } from './segment.ts';

export const SURE_BG = 0, PROB_BG = 1, PROB_FG = 2, SURE_FG = 3;

const K = 5; // clusters per colour model
const GAMMA = 50; // smoothness weight (GrabCut paper's value)
const SCALE = 16; // energies → integer capacities
const BIG = 1 << 24;

export interface GrabCutOptions {
  iterations?: number;
  /** Per pixel, extra cost (in log-likelihood units) of calling it product: a spatial prior. */
  fgCost?: Float32Array;
  /** Called after each cut; returns the labels to refit the models to (e.g. the main component only). */
  post?: (mask: Uint8Array) => Uint8Array;
}

export interface GrabCutResult {
  mask: Uint8Array;
  /** Per pixel log-likelihood ratio product vs background under the final models (clamped ±8). */
  vote: Float32Array;
}

/** Smoothness weights per pixel and direction (0: right, 2: down, 4: down-right, 6: up-right). */
function smoothness(F: Float32Array, w: number, h: number): Float32Array {
  const n = w * h;
  const wt = new Float32Array(n * 8);
  const dirs: Array<[number, number, number]> = [[0, 1, 0], [2, 0, 1], [4, 1, 1], [6, 1, -1]];
  const d2 = (a: number, b: number) => (F[a * 3] - F[b * 3]) ** 2 + (F[a * 3 + 1] - F[b * 3 + 1]) ** 2 + (F[a * 3 + 2] - F[b * 3 + 2]) ** 2;
  let sum = 0, cnt = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    for (const [, dx, dy] of dirs) {
      const xx = x + dx, yy = y + dy;
      if (xx >= w || yy < 0 || yy >= h) continue;
      sum += d2(y * w + x, yy * w + xx); cnt++;
    }
  }
  const beta = cnt && sum ? 1 / (2 * (sum / cnt)) : 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = y * w + x;
    for (const [d, dx, dy] of dirs) {
      const xx = x + dx, yy = y + dy;
      if (xx >= w || yy < 0 || yy >= h) continue;
      wt[i * 8 + d] = (GAMMA * Math.exp(-beta * d2(i, yy * w + xx))) / (dx && dy ? Math.SQRT2 : 1);
    }
  }
  return wt;
}

/** Segment with GrabCut from a trimap; `F` is the picture in segment.ts's feature space. */
export function grabCut(F: Float32Array, w: number, h: number, trimap: Uint8Array, opts: GrabCutOptions = {}): GrabCutResult {
  const n = w * h;
  const wt = smoothness(F, w, h);
  let labels: Uint8Array = Uint8Array.from(trimap, (t) => (t >= PROB_FG ? 1 : 0));
  let mask = labels;
  const vote = new Float32Array(n);
  for (let it = 0; it < (opts.iterations ?? 3); it++) {
    const fgIdx = sample(n, (i) => labels[i] === 1, 8000);
    const bgIdx = sample(n, (i) => labels[i] === 0, 8000);
    if (fgIdx.length < 20 || bgIdx.length < 20) break;
    const lf = logLikelihood(F, clusters(F, fgIdx, K, 3), n);
    const lb = logLikelihood(F, clusters(F, bgIdx, K, 3), n);
    const g = new GridGraph(w, h);
    for (let i = 0; i < n; i++) {
      const v = Math.max(-8, Math.min(8, lf[i] - lb[i]));
      vote[i] = v;
      const t = trimap[i];
      // Cost of product = -log p(fg) (+ prior); cost of background = -log p(bg). Only the difference matters.
      const dfg = -v + (opts.fgCost ? opts.fgCost[i] : 0);
      if (t === SURE_BG) g.setTerminal(i, 0, BIG);
      else if (t === SURE_FG) g.setTerminal(i, BIG, 0);
      else g.setTerminal(i, Math.round(Math.max(0, -dfg) * SCALE), Math.round(Math.max(0, dfg) * SCALE));
      // setTerminal(i, toSource, toSink): toSource is paid when i ends as background.
    }
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (x + 1 < w) g.setEdge(i, 0, Math.round(wt[i * 8] * SCALE));
      if (y + 1 < h) g.setEdge(i, 2, Math.round(wt[i * 8 + 2] * SCALE));
      if (x + 1 < w && y + 1 < h) g.setEdge(i, 4, Math.round(wt[i * 8 + 4] * SCALE));
      if (x + 1 < w && y > 0) g.setEdge(i, 6, Math.round(wt[i * 8 + 6] * SCALE));
    }
    mask = g.solve().source;
    labels = opts.post ? opts.post(mask) : mask;
    mask = labels;
  }
  return { mask, vote };
}

export interface ClutterFeatures {
  /** Mask area / picture area. */
  area: number;
  /** Mask area / its convex hull's area: attached clutter and lost parts make ragged, hollow masks. */
  solidity: number;
  /** IoU of the last two refinements: a cut that still moves has not found the object. */
  agreement: number;
  /** Share of the ring just inside the sure-background margin that the mask covers. */
  borderTouch: number;
  /** Share of the mask's outline with no colour edge under it: a cut along a soft shading or light falloff, not an object's edge. */
  weakEdge: number;
}

/** Share of outline pixels (mask pixels with a 4-neighbour outside) where the smoothed colour gradient stays below `tau`. */
function weakOutline(F: Float32Array, w: number, h: number, mask: Uint8Array, tau: number): number {
  const n = w * h;
  const S = new Float32Array(n * 3);
  const ch = new Float32Array(n);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) ch[i] = F[i * 3 + c];
    const b = boxBlur(ch, w, h, 1);
    for (let i = 0; i < n; i++) S[i * 3 + c] = b[i];
  }
  const g = new Float32Array(n);
  for (let y = 1; y < h - 1; y++) for (let x = 1; x < w - 1; x++) {
    const i = y * w + x;
    let s = 0;
    for (let c = 0; c < 3; c++) s += (S[(i + 1) * 3 + c] - S[(i - 1) * 3 + c]) ** 2 + (S[(i + w) * 3 + c] - S[(i - w) * 3 + c]) ** 2;
    g[i] = Math.sqrt(s);
  }
  let outline = 0, weak = 0;
  for (let y = 2; y < h - 2; y++) for (let x = 2; x < w - 2; x++) {
    const i = y * w + x;
    if (!mask[i] || (mask[i - 1] && mask[i + 1] && mask[i - w] && mask[i + w])) continue;
    outline++;
    let m = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) m = Math.max(m, g[i + dy * w + dx]);
    if (m < tau) weak++;
  }
  return outline ? weak / outline : 1;
}


export type ClutterWeakPoint = 'small' | 'ragged' | 'unstable' | 'touches_border' | 'weak_edges';

export interface ClutterCut {
  mask: Uint8Array;
  confidence: number;
  weakest: ClutterWeakPoint;
  features: ClutterFeatures;
}

/** Gradient (feature units per 2 px, after a 3×3 blur) below which an outline pixel has no edge under it; noise is ~1-3. */
const WEAK_EDGE = 8;
const MARGIN = 0.06; // sure-background margin, share of each side
const HULL_BONUS = 2; // log-likelihood units in favour of "product" inside the body's convex hull
const smoothstep = (a: number, b: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - a) / (b - a)));
  return t * t * (3 - 2 * t);
};

/**
 * The product as the large central object among clutter: GrabCut from the whole picture
 * but a margin, then twice again from the cut's body (an opening removes clutter stuck to
 * it; the body's convex hull is a mild prior that keeps the product in one piece), keeping
 * the one component that lies in that hull.
 */
export function cutAmongClutter(F: Float32Array, w: number, h: number): ClutterCut {
  const n = w * h;
  const mx = Math.max(2, Math.round(w * MARGIN)), my = Math.max(2, Math.round(h * MARGIN));
  const trimap = new Uint8Array(n);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) trimap[y * w + x] = x < mx || y < my || x >= w - mx || y >= h - my ? SURE_BG : PROB_FG;
  const keepBig = (m: Uint8Array) => cleanMask(m, w, h, 0.5);
  const first = grabCut(F, w, h, trimap, { iterations: 4, post: keepBig }).mask;
  const refine = (prev: Uint8Array, iterations: number) => {
    let area = 0;
    for (let i = 0; i < n; i++) area += prev[i];
    const r = Math.max(2, Math.round(Math.sqrt(area) * 0.15));
    const body = cleanMask(dilate(erode(prev, w, h, r), w, h, r), w, h, 0.25);
    const hull = convexHull(body, w, h);
    const t = Uint8Array.from(trimap, (v, i) => (v === SURE_BG ? SURE_BG : body[i] ? PROB_FG : PROB_BG));
    const fgCost = Float32Array.from(hull, (v) => (v ? -HULL_BONUS : 0));
    const m = grabCut(F, w, h, t, { iterations, fgCost, post: keepBig }).mask;
    return cleanMask(bestComponent(m, w, h, hull), w, h, 1);
  };
  const second = refine(first, 3);
  const mask = refine(second, 2);

  let area = 0;
  for (let i = 0; i < n; i++) area += mask[i];
  const hull = convexHull(mask, w, h);
  let hullArea = 0;
  for (let i = 0; i < n; i++) hullArea += hull[i];
  let ringN = 0, ringIn = 0;
  for (let y = my; y < h - my; y++) for (let x = mx; x < w - mx; x++) {
    if (x > mx + 1 && y > my + 1 && x < w - mx - 2 && y < h - my - 2) continue;
    ringN++;
    ringIn += mask[y * w + x];
  }
  const features: ClutterFeatures = {
    area: area / n,
    solidity: hullArea ? area / hullArea : 0,
    agreement: iou(second, mask),
    borderTouch: ringN ? ringIn / ringN : 0,
    weakEdge: weakOutline(F, w, h, mask, WEAK_EDGE),
  };
  const scores: Array<[ClutterWeakPoint, number]> = [
    // Calibrated on the synthetic cluttered pictures of seeds 15-17 (bench `cutout`): masks that
    // lost a part of the product are small; masks with clutter attached or a part missing are ragged.
    ['small', smoothstep(0.07, 0.11, features.area)],
    ['ragged', smoothstep(0.88, 0.93, features.solidity)],
    ['unstable', smoothstep(0.85, 0.95, features.agreement)],
    ['touches_border', 1 - smoothstep(0.02, 0.1, features.borderTouch)],
    // Good cuts among clutter had none (seeds 15-17); a radial backdrop's bright centre taken along had 26 %.
    ['weak_edges', 1 - smoothstep(0.03, 0.12, features.weakEdge)],
  ];
  let confidence = 1, worst = 2;
  let weakest: ClutterWeakPoint = 'unstable';
  for (const [name, s] of scores) {
    confidence *= s;
    if (s < worst) { worst = s; weakest = name; }
  }
  return { mask, confidence, weakest, features };
}
