// The cut-out's types, shared by the gate (index.ts) and its providers (local.ts, later HTTP ones).
import type { RawImage } from '../canvas.ts';

/** Why the photo is framed instead of cut out (stable codes: the bot words them for the seller). */
export type FramedReason =
  | 'low_confidence' // the mask's own checks were unconvincing
  | 'cluttered' // the background has too much going on to tell the product apart
  | 'no_product' // nothing stood out from the background
  | 'fills_frame' // the product touches the edges or fills the photo: nothing to cut away
  | 'provider_failed'; // the provider errored (a remote one: timeout, 5xx…)

export interface CutoutBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface CutoutOk {
  kind: 'cutout';
  /** The product alone, cropped to `bbox`: RGBA, straight alpha (feathered edge). */
  rgba: RawImage & { channels: 4 };
  /** Where the product sits in the upright photo at `photoSize`. */
  bbox: CutoutBox;
  photoSize: { width: number; height: number };
  /** 0..1; passed the gate. */
  confidence: number;
  provider: string;
}

export interface CutoutFramed {
  kind: 'framed';
  reason: FramedReason;
  confidence: number;
  provider: string;
  /** For logs: which check failed and with what value. Never shown to the seller as is. */
  detail?: string;
}

export type CutoutResult = CutoutOk | CutoutFramed;

/**
 * What a provider returns: an alpha mask over the upright photo (any size; it is scaled),
 * its confidence, and the reason to give should the gate refuse it.
 */
export type ProviderMask =
  | { ok: true; alpha: Buffer; width: number; height: number; confidence: number; reason?: FramedReason; detail?: string }
  | { ok: false; reason: FramedReason; confidence: number; detail?: string };

export interface CutoutProvider {
  readonly name: string;
  /** `photo` is the upright, sRGB, opaque picture as RGB bytes at the size the provider asked for. */
  readonly workSize: number;
  mask(photo: RawImage, signal?: AbortSignal): Promise<ProviderMask>;
}

export interface CutoutOptions {
  provider?: CutoutProvider;
  /** Below this the photo is framed. Calibrated on the benchmark set (docs: BENCHMARKS.md). */
  minConfidence?: number;
  /** Longest side of the cut-out image. */
  maxSide?: number;
  signal?: AbortSignal;
}
