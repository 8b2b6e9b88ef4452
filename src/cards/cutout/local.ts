/** The default cut-out provider: classical segmentation (segment.ts) on this machine's CPU, no weights, no network. */
import type { CutoutProvider, FramedReason, ProviderMask } from './types.ts';
import { boxBlur } from './morph.ts';
import { segment, type WeakPoint } from './segment.ts';

/** Working size: the mask is found at this longest side and scaled up with a feathered edge. */
const WORK = 256;

const REASON: Record<WeakPoint, FramedReason> = {
  empty: 'no_product',
  too_large: 'fills_frame',
  touches_border: 'fills_frame',
  cluttered: 'cluttered',
  unstable: 'low_confidence',
  weak_edges: 'low_confidence',
  disagreement: 'low_confidence',
};

export const localProvider: CutoutProvider = {
  name: 'local',
  workSize: WORK,
  async mask(photo, signal): Promise<ProviderMask> {
    signal?.throwIfAborted();
    const s = segment(photo.data, photo.width, photo.height);
    const f = s.features;
    const detail = `weakest=${s.weakest} area=${f.area.toFixed(3)} stability=${f.stability.toFixed(3)} agreement=${f.agreement.toFixed(3)} clutter=${f.clutter.toFixed(4)} border=${f.borderTouch.toFixed(3)} edge=${f.edge.toFixed(2)}`;
    if (f.area === 0) return { ok: false, reason: REASON[s.weakest], confidence: s.confidence, detail };
    // Feather: a 1-pixel blur at the working size is a ~2-4 px soft edge once scaled to the photo.
    const soft = new Float32Array(s.mask.length);
    for (let i = 0; i < soft.length; i++) soft[i] = s.mask[i];
    const b = boxBlur(soft, s.width, s.height, 1);
    const alpha = Buffer.allocUnsafe(b.length);
    for (let i = 0; i < b.length; i++) alpha[i] = Math.round(b[i] * 255);
    return { ok: true, alpha, width: s.width, height: s.height, confidence: s.confidence, reason: REASON[s.weakest], detail };
  },
};

