/**
 * Cut-out quality on the synthetic set (synth.ts): per picture the IoU of the
 * mask against the true one (at the photo's size, alpha ≥ 128), whether the gate
 * accepted it, and the CPU time. Shared by `npm run bench -- --only cutout` and the tests.
 */
import { cutout, fullMask, type CutoutOptions } from './index.ts';
import { iou } from './morph.ts';
import { CUTOUT_CLASSES, synthCase, type CutoutClass, type SynthCase } from './synth.ts';

export interface CaseResult {
  index: number;
  cls: CutoutClass;
  product: string;
  /** IoU of the provider's mask whether or not the gate accepted it (0 when nothing came back). */
  iou: number;
  accepted: boolean;
  confidence: number;
  reason?: string;
  /** CPU time of cutout() (every thread of this process), ms. */
  cpuMs: number;
  wallMs: number;
}

export interface ClassSummary {
  cls: CutoutClass | 'all';
  n: number;
  meanIou: number;
  medianIou: number;
  /** Share of pictures the gate sent to the framed card. */
  rejected: number;
  /** Mean and minimum IoU of the accepted ones. */
  acceptedMeanIou: number | null;
  acceptedMinIou: number | null;
}

const bin = (m: Uint8Array | Buffer) => Uint8Array.from(m, (v) => (v >= 128 ? 1 : 0));

/** Run cutout() on one synthetic picture; the gate is bypassed (minConfidence 0) to measure the mask, then applied. */
export async function evaluateCase(c: SynthCase, opts: CutoutOptions = {}): Promise<CaseResult> {
  const gate = opts.minConfidence;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await cutout(c.photo, { ...opts, minConfidence: 0 });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  let j = 0;
  if (r.kind === 'cutout') {
    if (r.photoSize.width !== c.width || r.photoSize.height !== c.height) throw new Error('cut-out size differs from the true mask');
    j = iou(bin(fullMask(r)), bin(c.mask));
  }
  const { DEFAULT_MIN_CONFIDENCE } = await import('./index.ts');
  const accepted = r.kind === 'cutout' && r.confidence >= (gate ?? DEFAULT_MIN_CONFIDENCE);
  return {
    index: c.index,
    cls: c.cls,
    product: c.product,
    iou: j,
    accepted,
    confidence: r.confidence,
    reason: r.kind === 'framed' ? r.reason : accepted ? undefined : 'low_confidence',
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
  };
}

export async function evaluateSet(count: number, opts: CutoutOptions = {}, onCase?: (r: CaseResult) => void): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (let i = 0; i < count; i++) {
    const r = await evaluateCase(await synthCase(i), opts);
    onCase?.(r);
    out.push(r);
  }
  return out;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

export function summarise(results: CaseResult[]): ClassSummary[] {
  const groups: Array<CutoutClass | 'all'> = [...CUTOUT_CLASSES, 'all'];
  return groups.map((cls) => {
    const rs = cls === 'all' ? results : results.filter((r) => r.cls === cls);
    const acc = rs.filter((r) => r.accepted);
    return {
      cls,
      n: rs.length,
      meanIou: mean(rs.map((r) => r.iou)),
      medianIou: percentile(rs.map((r) => r.iou), 50),
      rejected: rs.length ? 1 - acc.length / rs.length : NaN,
      acceptedMeanIou: acc.length ? mean(acc.map((r) => r.iou)) : null,
      acceptedMinIou: acc.length ? Math.min(...acc.map((r) => r.iou)) : null,
    };
  });
}
