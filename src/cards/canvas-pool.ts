/**
 * Spare 900×1200 RGB canvas buffers for the generation stage (main pictures and slides).
 * A fresh 3.2 MB buffer per picture costs more than drawing into it: the kernel faults in
 * ~800 new pages on the first write (~15-20 ms a picture on the 2-core VM under load, the
 * largest single JS cost of the variants in the e2e profile). Reused buffers skip that.
 */
import { DESIGN_HEIGHT, DESIGN_WIDTH } from './designs.ts';

const SIZE = DESIGN_WIDTH * DESIGN_HEIGHT * 3;
/** Enough for a few orders composing at once; more are allocated and dropped. */
const MAX_SPARE = 8;
const spare: Buffer[] = [];

/** A buffer for Canvas.from at the design size (contents undefined). */
export function takeCanvasBuffer(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafeSlow(SIZE);
}

/** Give a buffer back once nothing reads it any more (after its JPEG is encoded). */
export function returnCanvasBuffer(buf: Buffer): void {
  if (buf.length === SIZE && spare.length < MAX_SPARE && !spare.includes(buf)) spare.push(buf);
}
