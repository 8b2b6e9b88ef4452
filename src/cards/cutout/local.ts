/** The default cut-out provider: classical segmentation (segment.ts) on this machine's CPU, no weights, no network. */
import type { CutoutProvider, FramedReason, ProviderMask } from './types.ts';
import { boxBlur } from './morph.ts';
import { cutAmongClutter } from './grabcut.ts';
import { features as colourFeatures, segment, type WeakPoint } from './segment.ts';

/** Working size: the mask is found at this longest side and scaled up with a feathered edge. */
const WORK = 256;

/**
 * Below this the border-model segmentation is not trusted and GrabCut among clutter
 * (grabcut.ts) gets a go; the better-scored of the two is returned. Equal to the gate's
 * DEFAULT_MIN_CONFIDENCE (index.ts), not imported to keep the provider free of the gate.
 */
const TRY_CLUTTER_BELOW = 0.5;

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
    let detail = `weakest=${s.weakest} area=${f.area.toFixed(3)} stability=${f.stability.toFixed(3)} agreement=${f.agreement.toFixed(3)} clutter=${f.clutter.toFixed(4)} border=${f.borderTouch.toFixed(3)} edge=${f.edge.toFixed(2)}`;
    let { mask, confidence } = s;
    let reason = REASON[s.weakest];
    if (confidence < TRY_CLUTTER_BELOW) {
      signal?.throwIfAborted();
      const c = cutAmongClutter(colourFeatures(photo.data, photo.width * photo.height), photo.width, photo.height);
      const cf = c.features;
      detail += ` | clutter cut: confidence=${c.confidence.toFixed(3)} weakest=${c.weakest} area=${cf.area.toFixed(3)} solidity=${cf.solidity.toFixed(3)} agreement=${cf.agreement.toFixed(3)} border=${cf.borderTouch.toFixed(3)} weakEdge=${cf.weakEdge.toFixed(3)}`;
      if (c.confidence > confidence) {
        ({ mask, confidence } = c);
        // Refused or not, what stood in the way is the clutter around the product.
        reason = 'cluttered';
      }
    }
    let area = 0;
    for (let i = 0; i < mask.length; i++) area += mask[i];
    if (area === 0) return { ok: false, reason, confidence, detail };
    // Feather: a 1-pixel blur at the working size is a ~2-4 px soft edge once scaled to the photo.
    const soft = new Float32Array(mask.length);
    for (let i = 0; i < soft.length; i++) soft[i] = mask[i];
    const b = boxBlur(soft, photo.width, photo.height, 1);
    const alpha = Buffer.allocUnsafe(b.length);
    for (let i = 0; i < b.length; i++) alpha[i] = Math.round(b[i] * 255);
    return { ok: true, alpha, width: photo.width, height: photo.height, confidence, reason, detail };
  },
};

