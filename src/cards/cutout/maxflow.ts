/**
 * Minimum s–t cut on an 8-neighbour pixel grid: the Boykov–Kolmogorov max-flow
 * algorithm (two search trees grown from source and sink, reused between
 * augmentations; "An Experimental Comparison of Min-Cut/Max-Flow Algorithms for
 * Energy Minimization in Vision", PAMI 2004), on flat typed arrays.
 *
 * Capacities are integers (Int32): floats would leave 1e-17 residues that never
 * saturate. Node i is on the source side after solve() when it is reachable from
 * the source in the residual graph.
 */

/** Neighbour offsets; direction d and d ^ 1 are opposite. */
const DX = [1, -1, 0, 0, 1, -1, 1, -1];
const DY = [0, 0, 1, -1, 1, -1, -1, 1];
const TERMINAL = 8;
const NONE = -1;
const FREE = 0, S = 1, T = 2;

export class GridGraph {
  readonly n: number;
  /** Residual capacity of the edge from node i towards its neighbour in direction d, at i * 8 + d. */
  readonly cap: Int32Array;
  /** Source capacity minus sink capacity per node (residual, signed). */
  readonly tr: Int32Array;
  private readonly off: Int32Array;

  constructor(readonly w: number, readonly h: number) {
    this.n = w * h;
    this.cap = new Int32Array(this.n * 8);
    this.tr = new Int32Array(this.n);
    this.off = Int32Array.from(DX.map((dx, d) => dx + DY[d] * w));
  }

  /** Set both directions of the edge between i and its neighbour in direction d (which must exist). */
  setEdge(i: number, d: number, c: number): void {
    this.cap[i * 8 + d] = c;
    this.cap[(i + this.off[d]) * 8 + (d ^ 1)] = c;
  }

  /** Terminal links: cost of putting i on the sink side (`toSource`) and on the source side (`toSink`). */
  setTerminal(i: number, toSource: number, toSink: number): void {
    this.tr[i] = toSource - toSink;
  }

  /** Neighbour of i in direction d, or -1 outside the grid. */
  private nb(i: number, d: number): number {
    const x = (i % this.w) + DX[d], y = ((i / this.w) | 0) + DY[d];
    return x < 0 || y < 0 || x >= this.w || y >= this.h ? -1 : i + this.off[d];
  }

  /** Run max-flow; returns the source side (1) per node and the flow. The graph's residuals are consumed. */
  solve(): { source: Uint8Array; flow: number } {
    const { n, cap, tr } = this;
    const tree = new Uint8Array(n);
    const parent = new Int8Array(n).fill(NONE);
    const ts = new Int32Array(n);
    const dist = new Int32Array(n);
    // Active nodes: a ring FIFO with an in-queue flag.
    const q = new Int32Array(n + 1);
    const inQ = new Uint8Array(n);
    let qh = 0, qt = 0;
    const push = (i: number) => { if (!inQ[i]) { inQ[i] = 1; q[qt] = i; qt = qt === n ? 0 : qt + 1; } };
    const orphans: number[] = [];
    let time = 0;
    let flow = 0;

    for (let i = 0; i < n; i++) {
      if (tr[i] > 0) { tree[i] = S; parent[i] = TERMINAL; dist[i] = 1; push(i); }
      else if (tr[i] < 0) { tree[i] = T; parent[i] = TERMINAL; dist[i] = 1; push(i); }
    }

    for (;;) {
      // Growth: find an edge from the source tree to the sink tree.
      let ps = -1, pt = -1, pd = -1;
      while (qh !== qt) {
        const i = q[qh];
        qh = qh === n ? 0 : qh + 1;
        inQ[i] = 0;
        const ti = tree[i];
        if (ti === FREE) continue;
        for (let d = 0; d < 8; d++) {
          const j = this.nb(i, d);
          if (j < 0) continue;
          const c = ti === S ? cap[i * 8 + d] : cap[j * 8 + (d ^ 1)];
          if (c <= 0) continue;
          const tj = tree[j];
          if (tj === FREE) {
            tree[j] = ti; parent[j] = d ^ 1; ts[j] = ts[i]; dist[j] = dist[i] + 1;
            push(j);
          } else if (tj !== ti) {
            if (ti === S) { ps = i; pt = j; pd = d; } else { ps = j; pt = i; pd = d ^ 1; }
            break;
          } else if (ts[j] <= ts[i] && dist[j] > dist[i] && parent[j] !== NONE) {
            // Shorter way to the terminal through i (BK's distance heuristic).
            parent[j] = d ^ 1; ts[j] = ts[i]; dist[j] = dist[i] + 1;
          }
        }
        if (ps >= 0) { push(i); break; }
      }
      if (ps < 0) break;

      // Augment along source → ps → pt → sink.
      time++;
      let f = cap[ps * 8 + pd];
      for (let x = ps; ; ) {
        const pdir = parent[x];
        if (pdir === TERMINAL) { if (tr[x] < f) f = tr[x]; break; }
        const p = x + this.off[pdir];
        const c = cap[p * 8 + (pdir ^ 1)];
        if (c < f) f = c;
        x = p;
      }
      for (let x = pt; ; ) {
        const pdir = parent[x];
        if (pdir === TERMINAL) { if (-tr[x] < f) f = -tr[x]; break; }
        const c = cap[x * 8 + pdir];
        if (c < f) f = c;
        x = x + this.off[pdir];
      }
      cap[ps * 8 + pd] -= f;
      cap[pt * 8 + (pd ^ 1)] += f;
      for (let x = ps; ; ) {
        const pdir = parent[x];
        if (pdir === TERMINAL) {
          tr[x] -= f;
          if (tr[x] === 0) { parent[x] = NONE; orphans.push(x); }
          break;
        }
        const p = x + this.off[pdir];
        cap[p * 8 + (pdir ^ 1)] -= f;
        cap[x * 8 + pdir] += f;
        if (cap[p * 8 + (pdir ^ 1)] === 0) { parent[x] = NONE; orphans.push(x); }
        x = p;
      }
      for (let x = pt; ; ) {
        const pdir = parent[x];
        if (pdir === TERMINAL) {
          tr[x] += f;
          if (tr[x] === 0) { parent[x] = NONE; orphans.push(x); }
          break;
        }
        const p = x + this.off[pdir];
        cap[x * 8 + pdir] -= f;
        cap[p * 8 + (pdir ^ 1)] += f;
        if (cap[x * 8 + pdir] === 0) { parent[x] = NONE; orphans.push(x); }
        x = p;
      }
      flow += f;

      // Adoption: give every orphan a new parent in its tree, or free it.
      while (orphans.length) {
        const x = orphans.pop()!;
        const tx = tree[x];
        let best = -1, dmin = Infinity;
        for (let d = 0; d < 8; d++) {
          const y = this.nb(x, d);
          if (y < 0 || tree[y] !== tx || parent[y] === NONE) continue;
          const c = tx === S ? cap[y * 8 + (d ^ 1)] : cap[x * 8 + d];
          if (c <= 0) continue;
          // Does y still reach the terminal? Walk up, using marks from this round.
          let dd = 0;
          let z = y;
          for (;;) {
            if (ts[z] === time) { dd += dist[z]; break; }
            const a = parent[z];
            dd++;
            if (a === TERMINAL) { ts[z] = time; dist[z] = 1; break; }
            if (a === NONE) { dd = Infinity; break; }
            z = z + this.off[a];
          }
          if (dd === Infinity) continue;
          if (dd < dmin) { dmin = dd; best = d; }
          for (let z2 = y, k = dd; ts[z2] !== time; z2 = z2 + this.off[parent[z2]]) { ts[z2] = time; dist[z2] = k--; }
        }
        if (best >= 0) {
          parent[x] = best; ts[x] = time; dist[x] = dmin + 1;
          continue;
        }
        // No parent: x leaves its tree; neighbours that could reach it become active, its children orphans.
        tree[x] = FREE;
        for (let d = 0; d < 8; d++) {
          const y = this.nb(x, d);
          if (y < 0 || tree[y] !== tx || parent[y] === NONE) continue;
          const c = tx === S ? cap[y * 8 + (d ^ 1)] : cap[x * 8 + d];
          if (c > 0) push(y);
          if (parent[y] !== TERMINAL && parent[y] === (d ^ 1)) { parent[y] = NONE; orphans.push(y); }
        }
      }
    }
    const source = new Uint8Array(n);
    for (let i = 0; i < n; i++) source[i] = tree[i] === S ? 1 : 0;
    return { source, flow };
  }
}
