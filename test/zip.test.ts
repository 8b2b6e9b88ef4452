// The set's zip: JPEG entries are stored (no deflate: it does not shrink them and costs CPU
// per order); text-like entries deflate when asked. Read back with the independent reader.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zip } from '../src/orders/zip.ts';
import { productPhoto } from './support/hostile-files.ts';
import { unzip } from './support/unzip.ts';

const methods = (buf: Buffer) => {
  const out: number[] = [];
  for (let p = 0; (p = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), p)) >= 0; p += 4) out.push(buf.readUInt16LE(p + 10));
  return out;
};

describe('zip', () => {
  it('stores JPEGs by default and reads back byte for byte', async () => {
    const a = await productPhoto(300, 400);
    const b = await productPhoto(500, 300);
    const z = zip([{ name: 'card-1-1-main.jpg', data: a }, { name: 'card-1-2-infographic.jpg', data: b }]);
    assert.deepEqual(methods(z), [0, 0]);
    const back = unzip(z);
    assert.deepEqual(back.map((e) => e.name), ['card-1-1-main.jpg', 'card-1-2-infographic.jpg']);
    assert.ok(back[0].data.equals(a) && back[1].data.equals(b));
    assert.ok(zip([{ name: 'x.jpg', data: a }]).equals(zip([{ name: 'x.jpg', data: a }])), 'byte-identical archives');
  });

  it('deflates when asked and it helps', () => {
    const text = Buffer.from('neurocards '.repeat(500));
    const z = zip([{ name: 'a.txt', data: text }], { deflate: true });
    assert.deepEqual(methods(z), [8]);
    assert.ok(z.length < text.length / 4);
    assert.ok(unzip(z)[0].data.equals(text));
  });
});
