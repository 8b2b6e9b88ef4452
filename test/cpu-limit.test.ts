// The CPU limit of card work (src/cards/limit.ts): every CPU-heavy stage (cut-out,
// render, variants, set) waits for a slot, and a backdrop source (an AI call that may
// take minutes) is awaited holding none. The test holds the only slot itself and
// watches each stage queue behind it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { availableParallelism } from 'node:os';
import { cpuLoad, cpuSlot, setCpuLimit } from '../src/cards/limit.ts';
import { composeSet, cutoutInThread, renderCard, variantsStage, type BackdropContext } from '../src/cards/index.ts';
import { samplePhoto } from '../src/cards/sample.ts';
import { synthCase } from '../src/cards/cutout/synth.ts';

/** Until `cond` holds (polled), or fail after `ms`. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting: ${what}`);
    await sleep(5);
  }
}

/** Holds the only slot, starts `work`, proves it queues behind the slot, then lets it finish. */
async function queuesBehindSlot<T>(work: () => Promise<T>): Promise<T> {
  const release = await cpuSlot();
  let settled = false;
  const p = work().finally(() => { settled = true; });
  try {
    await until(() => cpuLoad().waiting === 1, 'the stage waits for a CPU slot');
    assert.equal(settled, false, 'the stage did not finish while the only CPU slot was taken');
  } finally {
    release();
  }
  const r = await p;
  assert.deepEqual([cpuLoad().active, cpuLoad().waiting], [0, 0], 'the stage gave its slot back');
  return r;
}

describe('CPU limit of card work', () => {
  let cutPng: Buffer;
  before(async () => {
    setCpuLimit(1);
    const c = await synthCase(4); // a box on a plain backdrop
    cutPng = (await cutoutInThread(c.photo)).png;
  });
  after(() => setCpuLimit(Math.max(1, availableParallelism())));

  it('the default is one slot per core; a bad size is refused', () => {
    setCpuLimit(Math.max(1, availableParallelism()));
    assert.equal(cpuLoad().max, Math.max(1, availableParallelism()));
    assert.throws(() => setCpuLimit(0), /whole number ≥ 1/);
    setCpuLimit(1);
  });

  it('a cut-out waits for a slot', async () => {
    const c = await synthCase(5);
    const r = await queuesBehindSlot(() => cutoutInThread(c.photo));
    assert.ok(r.png.length > 0);
  });

  it('a render waits for a slot', async () => {
    const photo = await samplePhoto(400, 400);
    const r = await queuesBehindSlot(() => renderCard({ photo, title: 'Чайник', features: ['1,7 л'], template: 'clean' }));
    assert.equal(r.width, 900);
  });

  it('the set waits for a slot', async () => {
    const variants = await variantsStage(cutPng, { template: 'clean', marketplace: 'wb', title: 'Чайник' });
    const slides = await queuesBehindSlot(() => composeSet({
      cutPng, mainJpeg: variants[0].jpeg, title: 'Чайник', features: ['1,7 л'], price: '990', template: 'clean', marketplace: 'wb',
    }));
    assert.equal(slides.length, 3);
  });

  it('variants: the backdrop calls hold no slot; the compositing after them waits for one', async () => {
    const asked: BackdropContext[] = [];
    let answer!: () => void;
    const answered = new Promise<void>((r) => { answer = r; });
    // A slow provider: every variant's call is pending until answer().
    const slow = async (ctx: BackdropContext) => { asked.push(ctx); await answered; return null; };
    const p = variantsStage(cutPng, { template: 'clean', marketplace: 'wb', title: 'Чайник', backdrops: slow });
    await until(() => asked.length === 3, 'all three backdrop calls are in flight');
    assert.deepEqual([cpuLoad().active, cpuLoad().waiting], [0, 0], 'no CPU slot is held while the provider thinks');
    const vs = await queuesBehindSlot(async () => { answer(); return p; });
    assert.deepEqual(vs.map((v) => v.n), [1, 2, 3]);
  });

  it('waiting for a slot can be aborted', async () => {
    const release = await cpuSlot();
    try {
      const ac = new AbortController();
      const p = renderCard({ photo: await samplePhoto(200, 200), title: 'x', features: [], template: 'clean' }, { signal: ac.signal });
      await until(() => cpuLoad().waiting === 1, 'the render waits');
      ac.abort(new Error('order canceled'));
      await assert.rejects(p, /order canceled/);
      assert.equal(cpuLoad().waiting, 0);
    } finally {
      release();
    }
  });
});

describe('cut-out threads', () => {
  it('a cut-out aborted while waiting for a thread does not stall the ones behind it', async () => {
    setCpuLimit(64); // only the threads limit here
    try {
      const photo = (await synthCase(6)).photo;
      // More cut-outs than threads (one per core but one): the rest wait for a thread.
      // (a few ms apart: each takes its thread before the next one asks)
      const busy: Promise<unknown>[] = [];
      for (let i = 0; i < availableParallelism(); i++) { busy.push(cutoutInThread(photo)); await sleep(20); }
      const ac = new AbortController();
      const aborted = cutoutInThread(photo, { signal: ac.signal });
      await sleep(20);
      const behind = cutoutInThread(photo);
      await sleep(20);
      ac.abort(new Error('job timed out'));
      await assert.rejects(aborted, /job timed out/);
      const done = await Promise.race([Promise.all([...busy, behind]).then(() => true), sleep(60_000).then(() => false)]);
      assert.ok(done, 'every cut-out behind the aborted one finished');
    } finally {
      setCpuLimit(Math.max(1, availableParallelism()));
    }
  });
});
