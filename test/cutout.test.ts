// The local cut-out on the synthetic set (real sharp, real segmentation, no mocks):
// mask quality on plain and gradient backdrops, the confidence gate refusing what it
// cannot trust, and the provider interface an HTTP cut-out API will use.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { cutout, type CutoutProvider } from '../src/cards/cutout/index.ts';
import { evaluateSet, summarise, type CaseResult } from '../src/cards/cutout/evaluate.ts';

describe('local cut-out on the benchmark set (first 32 pictures, 8 per class)', () => {
  let results: CaseResult[];
  before(async () => {
    results = await evaluateSet(32);
  });

  it('masks on plain and gradient backdrops match the true ones', () => {
    const s = Object.fromEntries(summarise(results).map((c) => [c.cls, c]));
    // Measured on the 60 (BENCHMARKS.md): plain median 0.95, gradient median 0.94.
    assert.ok(s.plain.medianIou >= 0.9, `plain median IoU ${s.plain.medianIou}`);
    assert.ok(s.gradient.medianIou >= 0.88, `gradient median IoU ${s.gradient.medianIou}`);
    assert.ok(s.plain.rejected <= 0.25, `plain rejected ${s.plain.rejected}`);
    assert.ok(s.gradient.rejected <= 0.4, `gradient rejected ${s.gradient.rejected}`);
  });

  it('cluttered pictures: GrabCut cuts the product out of some, the gate frames the doubtful rest', () => {
    const cluttered = results.filter((r) => r.cls === 'cluttered');
    assert.equal(cluttered.length, 8);
    // Measured (BENCHMARKS.md): #7, a box among clutter, IoU 0.99; #27, a sneaker, 0.98.
    for (const i of [7, 27]) {
      const r = cluttered.find((c) => c.index === i)!;
      assert.ok(r.accepted, `cluttered #${i} framed (confidence ${r.confidence.toFixed(2)})`);
      assert.ok(r.iou >= 0.95, `cluttered #${i} IoU ${r.iou.toFixed(3)}`);
    }
    const accepted = cluttered.filter((r) => r.accepted);
    assert.ok(accepted.length >= 3, `only ${accepted.length} of 8 cluttered accepted`);
    for (const r of accepted) assert.ok(r.iou >= 0.9, `cluttered #${r.index} accepted with IoU ${r.iou.toFixed(3)}`);
  });

  it('what the gate accepts is a good mask', () => {
    const accepted = results.filter((r) => r.accepted);
    assert.ok(accepted.length >= 12, `only ${accepted.length} accepted`);
    // One known miss: #8, a white sole on a near-white backdrop (IoU 0.64), indistinguishable
    // by colour. Everything else accepted is ≥ 0.85.
    const bad = accepted.filter((r) => r.iou < 0.85).map((r) => `#${r.index} ${r.cls} ${r.iou.toFixed(3)}`);
    assert.ok(bad.length <= 1, `accepted with IoU < 0.85: ${bad.join(', ')}`);
    for (const r of accepted) assert.ok(r.iou >= 0.6, `#${r.index} accepted with IoU ${r.iou.toFixed(3)}`);
  });
});

/** A picture whose product is the backdrop's own colour: nothing to cut. */
async function camouflaged(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="800"><rect width="600" height="800" fill="#b8b8b8"/>` +
    `<rect x="180" y="200" width="240" height="380" fill="#b9b9b9"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer();
}

describe('the gate', () => {
  it('frames a product the same colour as its backdrop', async () => {
    const r = await cutout(await camouflaged());
    assert.equal(r.kind, 'framed');
    if (r.kind === 'framed') assert.ok(['no_product', 'low_confidence', 'cluttered'].includes(r.reason), r.reason);
  });

  it('cuts out a clear product and returns its box and a feathered alpha', async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="800"><rect width="600" height="800" fill="#eeeeee"/>` +
      `<rect x="180" y="200" width="240" height="380" rx="20" fill="#2050c0"/></svg>`;
    const r = await cutout(await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer());
    assert.equal(r.kind, 'cutout');
    if (r.kind !== 'cutout') return;
    assert.ok(r.confidence >= 0.5);
    // The box holds the product and its feathered edge (a few working-size pixels, ~3 px each here).
    const b = r.bbox;
    assert.ok(b.left <= 180 && b.left >= 180 - 12, `left ${b.left}`);
    assert.ok(b.top <= 200 && b.top >= 200 - 12, `top ${b.top}`);
    assert.ok(b.left + b.width >= 420 && b.left + b.width <= 420 + 12, `right ${b.left + b.width}`);
    assert.ok(b.top + b.height >= 580 && b.top + b.height <= 580 + 12, `bottom ${b.top + b.height}`);
    const a = r.rgba.data;
    const alphas = new Set<number>();
    for (let i = 3; i < a.length; i += 4) alphas.add(a[i]);
    assert.ok([...alphas].some((v) => v > 0 && v < 255), 'the edge is feathered');
    const mid = ((r.rgba.height >> 1) * r.rgba.width + (r.rgba.width >> 1)) * 4;
    assert.equal(a[mid + 3], 255);
    assert.ok(a[mid + 2] > 150 && a[mid] < 80, 'the product keeps its colour');
  });

  it('a provider that fails or is unsure ends in the framed photo, saying why', async () => {
    const photo = await camouflaged();
    const failing: CutoutProvider = { name: 'http-test', workSize: 512, mask: async () => { throw new Error('503 from provider'); } };
    const f = await cutout(photo, { provider: failing });
    assert.deepEqual([f.kind, f.kind === 'framed' && f.reason, f.provider], ['framed', 'provider_failed', 'http-test']);
    const unsure: CutoutProvider = {
      name: 'unsure', workSize: 512,
      mask: async (img) => ({ ok: true, alpha: Buffer.alloc(img.width * img.height, 255), width: img.width, height: img.height, confidence: 0.2, reason: 'fills_frame' }),
    };
    const u = await cutout(photo, { provider: unsure });
    assert.deepEqual([u.kind, u.kind === 'framed' && u.reason], ['framed', 'fills_frame']);
    // The same mask above the gate is used, through the same path as the local provider.
    const sure: CutoutProvider = { ...unsure, mask: async (img) => ({ ...(await unsure.mask(img)), confidence: 0.9 } as never) };
    const s = await cutout(photo, { provider: sure });
    assert.equal(s.kind, 'cutout');
  });
});
