// The cut-out's max-flow (src/cards/cutout/maxflow.ts) against brute force: on small random
// 8-neighbour grids the flow equals the minimum cut over every labelling, and the returned
// source side is a labelling that costs exactly that.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { GridGraph } from '../src/cards/cutout/maxflow.ts';
import { rng } from '../src/cards/cutout/synth.ts';

const DX = [1, -1, 0, 0, 1, -1, 1, -1];
const DY = [0, 0, 1, -1, 1, -1, -1, 1];

it('max-flow equals the brute-force minimum cut on 300 random small grids', () => {
  for (let t = 0; t < 300; t++) {
    const r = rng(t + 1);
    const w = 2 + Math.floor(r() * 3), h = 2 + Math.floor(r() * 3), n = w * h;
    const g = new GridGraph(w, h);
    const toSource: number[] = [], toSink: number[] = [];
    for (let i = 0; i < n; i++) {
      toSource[i] = Math.floor(r() * 20);
      toSink[i] = Math.floor(r() * 20);
      g.setTerminal(i, toSource[i], toSink[i]);
    }
    const edges: Array<[number, number, number]> = [];
    for (let i = 0; i < n; i++) {
      for (const d of [0, 2, 4, 6]) {
        const x = (i % w) + DX[d], y = Math.floor(i / w) + DY[d];
        if (x < 0 || y < 0 || x >= w || y >= h) continue;
        const c = Math.floor(r() * 10);
        g.setEdge(i, d, c);
        edges.push([i, i + DX[d] + DY[d] * w, c]);
      }
    }
    // Cost of a labelling (bit i set = node i on the source side).
    const cost = (m: number) => {
      let c = 0;
      for (let i = 0; i < n; i++) c += (m >> i) & 1 ? toSink[i] : toSource[i];
      for (const [a, b, e] of edges) if (((m >> a) & 1) !== ((m >> b) & 1)) c += e;
      return c;
    };
    let best = Infinity;
    for (let m = 0; m < 1 << n; m++) best = Math.min(best, cost(m));
    const { source, flow } = g.solve();
    let m = 0;
    for (let i = 0; i < n; i++) if (source[i]) m |= 1 << i;
    // setTerminal keeps only the difference; the shared part min(toSource, toSink) is cut whatever the labels.
    const shared = toSource.reduce((a, v, i) => a + Math.min(v, toSink[i]), 0);
    assert.equal(flow + shared, best, `grid ${t} (${w}×${h}): flow`);
    assert.equal(cost(m), best, `grid ${t} (${w}×${h}): labelling`);
  }
});
