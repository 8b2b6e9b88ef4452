// The main picture without a key: three local backdrops per template, the product's own
// pixels kept, a contact shadow under it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { composeMain, composeVariants } from '../src/cards/backdrops.ts';
import { cutout, type CutoutOk } from '../src/cards/cutout/index.ts';
import { synthCase } from '../src/cards/cutout/synth.ts';
import { TEMPLATE_IDS } from '../src/cards/templates.ts';

async function product(): Promise<CutoutOk> {
  const c = await synthCase(4); // a box on a plain backdrop
  const r = await cutout(c.photo);
  assert.equal(r.kind, 'cutout');
  return r as CutoutOk;
}

const meanAbsDiff = (a: Buffer, b: Buffer) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
};

describe('composeVariants', () => {
  it('three different 900×1200 JPEGs per template, product pixels preserved, shadow under it', async () => {
    const cut = await product();
    for (const template of TEMPLATE_IDS) {
      const vs = await composeVariants(cut, template, { keepRaw: true });
      assert.equal(vs.length, 3);
      for (const v of vs) {
        const meta = await sharp(v.jpeg).metadata();
        assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 900, 1200]);
        // Every fully opaque product pixel is the product's, untouched by backdrop or shadow.
        const p = v.productRgba!;
        const raw = v.raw!;
        let opaque = 0;
        for (let y = 0; y < p.height; y++) {
          for (let x = 0; x < p.width; x++) {
            const s = (y * p.width + x) * 4;
            if (p.data[s + 3] !== 255) continue;
            opaque++;
            const d = ((v.product.top + y) * 900 + v.product.left + x) * 3;
            assert.deepEqual([raw.data[d], raw.data[d + 1], raw.data[d + 2]], [p.data[s], p.data[s + 1], p.data[s + 2]], `${template}: product pixel ${x},${y}`);
          }
        }
        assert.ok(opaque > p.width * p.height * 0.5, `${template}: ${opaque} opaque pixels`);
        // Contact shadow: just below the product's base the backdrop is darker than at the sides.
        const base = v.product.top + v.product.height + 2;
        const lum = (x: number, y: number) => { const d = (y * 900 + x) * 3; return raw.data[d] + raw.data[d + 1] + raw.data[d + 2]; };
        const under = lum(v.product.left + (v.product.width >> 1), base);
        const side = lum(20, base);
        assert.ok(under < side * 0.85, `${template}: no shadow under the product (${under} vs ${side})`);
      }
      for (let i = 0; i < 3; i++) {
        for (let j = i + 1; j < 3; j++) {
          const d = meanAbsDiff(vs[i].raw!.data, vs[j].raw!.data);
          assert.ok(d > 8, `${template}: variants ${i + 1} and ${j + 1} differ by only ${d.toFixed(1)}`);
        }
      }
      // The product has the same size on every variant (only the floor line moves).
      assert.deepEqual(vs.map((v) => [v.product.width, v.product.height]), vs.map(() => [vs[0].product.width, vs[0].product.height]));
    }
  });

  it('a picture kept raw is not reused by later compositions (pooled canvases)', async () => {
    const cut = await product();
    const kept = await composeMain(cut, 'clean', 2, { keepRaw: true });
    const copy = Buffer.from(kept.raw!.data);
    for (let i = 0; i < 4; i++) await composeVariants(cut, 'bold');
    assert.ok(kept.raw!.data.equals(copy), 'the kept pixels were overwritten by a later picture');
  });

  it('variant 1 is a white studio (for strict main-picture rules)', async () => {
    const [v1] = await composeVariants(await product(), 'bold', { keepRaw: true });
    const px = v1.raw!.data;
    assert.deepEqual([px[0], px[1], px[2]], [255, 255, 255]);
  });
});
