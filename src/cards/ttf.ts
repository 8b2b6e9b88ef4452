/**
 * A small reader for the TrueType fonts we ship: character map, advance widths,
 * pair kerning ('kern' format 0) and glyph outlines ('glyf', including composite
 * glyphs) as SVG path data. It reads tables in place from the file's bytes and
 * decodes glyphs on demand, so a font costs its file size in memory and loads in
 * about a millisecond.
 */

export interface Point {
  x: number;
  y: number;
  on: boolean;
}

export class TrueTypeFont {
  readonly unitsPerEm: number;
  readonly ascender: number;
  readonly descender: number;
  readonly numGlyphs: number;
  /** OS/2 capital height, or 0.7 em when absent. */
  readonly capHeight: number;
  readonly familyName: string;

  private readonly view: DataView;
  private readonly tables = new Map<string, { offset: number; length: number }>();
  private readonly longLoca: boolean;
  private readonly numHMetrics: number;
  private readonly cmapSub: { format: 4 | 12; offset: number };
  private readonly kerning = new Map<number, number>();

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const v = this.view;
    const sfnt = v.getUint32(0);
    if (sfnt !== 0x00010000 && sfnt !== 0x74727565) throw new Error('not a TrueType font');
    const count = v.getUint16(4);
    for (let i = 0; i < count; i++) {
      const o = 12 + i * 16;
      const tag = String.fromCharCode(bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]);
      this.tables.set(tag, { offset: v.getUint32(o + 8), length: v.getUint32(o + 12) });
    }
    const head = this.table('head');
    this.unitsPerEm = v.getUint16(head + 18);
    this.longLoca = v.getInt16(head + 50) === 1;
    const hhea = this.table('hhea');
    this.ascender = v.getInt16(hhea + 4);
    this.descender = v.getInt16(hhea + 6);
    this.numHMetrics = v.getUint16(hhea + 34);
    this.numGlyphs = v.getUint16(this.table('maxp') + 4);
    const os2 = this.tables.get('OS/2');
    this.capHeight = os2 && os2.length >= 90 && v.getUint16(os2.offset) >= 2 ? v.getInt16(os2.offset + 88) : Math.round(this.unitsPerEm * 0.7);
    this.cmapSub = this.pickCmap();
    this.readKern();
    this.familyName = this.readName(1);
  }

  private table(tag: string): number {
    const t = this.tables.get(tag);
    if (!t) throw new Error(`font has no ${tag} table`);
    return t.offset;
  }

  private pickCmap(): { format: 4 | 12; offset: number } {
    const v = this.view;
    const cmap = this.table('cmap');
    const n = v.getUint16(cmap + 2);
    let best: { format: 4 | 12; offset: number } | null = null;
    for (let i = 0; i < n; i++) {
      const platform = v.getUint16(cmap + 4 + i * 8);
      const encoding = v.getUint16(cmap + 6 + i * 8);
      const offset = cmap + v.getUint32(cmap + 8 + i * 8);
      const format = v.getUint16(offset);
      const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
      if (!unicode) continue;
      if (format === 12) return { format: 12, offset };
      if (format === 4 && !best) best = { format: 4, offset };
    }
    if (!best) throw new Error('font has no Unicode cmap');
    return best;
  }

  /** Glyph index for a code point; 0 (.notdef) when the font has none. */
  glyphIndex(codePoint: number): number {
    const v = this.view;
    const { format, offset } = this.cmapSub;
    if (format === 12) {
      const groups = v.getUint32(offset + 12);
      let lo = 0;
      let hi = groups - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const g = offset + 16 + mid * 12;
        const start = v.getUint32(g);
        const end = v.getUint32(g + 4);
        if (codePoint < start) hi = mid - 1;
        else if (codePoint > end) lo = mid + 1;
        else return v.getUint32(g + 8) + (codePoint - start);
      }
      return 0;
    }
    if (codePoint > 0xffff) return 0;
    const segX2 = v.getUint16(offset + 6);
    const ends = offset + 14;
    const starts = ends + segX2 + 2;
    const deltas = starts + segX2;
    const rangeOffsets = deltas + segX2;
    for (let s = 0; s < segX2; s += 2) {
      if (v.getUint16(ends + s) < codePoint) continue;
      const start = v.getUint16(starts + s);
      if (start > codePoint) return 0;
      const delta = v.getInt16(deltas + s);
      const ro = v.getUint16(rangeOffsets + s);
      if (ro === 0) return (codePoint + delta) & 0xffff;
      const gi = v.getUint16(rangeOffsets + s + ro + (codePoint - start) * 2);
      return gi === 0 ? 0 : (gi + delta) & 0xffff;
    }
    return 0;
  }

  /** Advance width in font units. */
  advance(glyph: number): number {
    const hmtx = this.table('hmtx');
    const i = Math.min(glyph, this.numHMetrics - 1);
    return this.view.getUint16(hmtx + i * 4);
  }

  /** Kerning between two glyphs in font units (the 'kern' table; 0 when none). */
  kern(left: number, right: number): number {
    return this.kerning.get(left * 65536 + right) ?? 0;
  }

  private readKern(): void {
    const t = this.tables.get('kern');
    if (!t) return;
    const v = this.view;
    if (v.getUint16(t.offset) !== 0) return; // only the Microsoft version-0 layout
    const n = v.getUint16(t.offset + 2);
    let sub = t.offset + 4;
    for (let i = 0; i < n; i++) {
      const length = v.getUint16(sub + 2);
      const coverage = v.getUint16(sub + 4);
      const format = coverage >> 8;
      const horizontal = (coverage & 1) === 1;
      const minimum = (coverage & 2) === 2;
      const crossStream = (coverage & 4) === 4;
      if (format === 0 && horizontal && !minimum && !crossStream) {
        const pairs = v.getUint16(sub + 6);
        for (let p = 0; p < pairs; p++) {
          const o = sub + 14 + p * 6;
          this.kerning.set(v.getUint16(o) * 65536 + v.getUint16(o + 2), v.getInt16(o + 4));
        }
      }
      sub += length;
    }
  }

  private readName(id: number): string {
    const t = this.tables.get('name');
    if (!t) return '';
    const v = this.view;
    const count = v.getUint16(t.offset + 2);
    const strings = t.offset + v.getUint16(t.offset + 4);
    for (let i = 0; i < count; i++) {
      const r = t.offset + 6 + i * 12;
      const platform = v.getUint16(r);
      if (v.getUint16(r + 6) !== id || (platform !== 3 && platform !== 0)) continue;
      const len = v.getUint16(r + 8);
      const off = strings + v.getUint16(r + 10);
      let s = '';
      for (let k = 0; k < len; k += 2) s += String.fromCharCode(v.getUint16(off + k));
      return s;
    }
    return '';
  }

  private glyphRange(glyph: number): [number, number] {
    const loca = this.table('loca');
    const v = this.view;
    if (this.longLoca) return [v.getUint32(loca + glyph * 4), v.getUint32(loca + glyph * 4 + 4)];
    return [v.getUint16(loca + glyph * 2) * 2, v.getUint16(loca + glyph * 2 + 2) * 2];
  }

  /** Contours of a glyph in font units (y up), composite glyphs resolved. */
  contours(glyph: number, depth = 0): Point[][] {
    if (glyph < 0 || glyph >= this.numGlyphs || depth > 8) return [];
    const [start, end] = this.glyphRange(glyph);
    if (end <= start) return [];
    const v = this.view;
    const g = this.table('glyf') + start;
    const numberOfContours = v.getInt16(g);
    if (numberOfContours >= 0) return this.simpleContours(g, numberOfContours);
    const out: Point[][] = [];
    let p = g + 10;
    for (;;) {
      const flags = v.getUint16(p);
      const component = v.getUint16(p + 2);
      p += 4;
      let dx: number;
      let dy: number;
      if (flags & 0x0001) {
        dx = v.getInt16(p);
        dy = v.getInt16(p + 2);
        p += 4;
      } else {
        dx = v.getInt8(p);
        dy = v.getInt8(p + 1);
        p += 2;
      }
      if (!(flags & 0x0002)) {
        dx = 0; // point-matched placement: not used by our fonts' Latin/Cyrillic
        dy = 0;
      }
      let a = 1;
      let b = 0;
      let c = 0;
      let d = 1;
      const f2 = (o: number) => v.getInt16(o) / 16384;
      if (flags & 0x0008) {
        a = d = f2(p);
        p += 2;
      } else if (flags & 0x0040) {
        a = f2(p);
        d = f2(p + 2);
        p += 4;
      } else if (flags & 0x0080) {
        a = f2(p);
        b = f2(p + 2);
        c = f2(p + 4);
        d = f2(p + 6);
        p += 8;
      }
      for (const contour of this.contours(component, depth + 1)) {
        out.push(contour.map((pt) => ({ x: a * pt.x + c * pt.y + dx, y: b * pt.x + d * pt.y + dy, on: pt.on })));
      }
      if (!(flags & 0x0020)) break;
    }
    return out;
  }

  private simpleContours(g: number, numberOfContours: number): Point[][] {
    const v = this.view;
    const endPts: number[] = [];
    for (let i = 0; i < numberOfContours; i++) endPts.push(v.getUint16(g + 10 + i * 2));
    const numPoints = numberOfContours ? endPts[numberOfContours - 1] + 1 : 0;
    const instructionLength = v.getUint16(g + 10 + numberOfContours * 2);
    let p = g + 12 + numberOfContours * 2 + instructionLength;
    const flags = new Uint8Array(numPoints);
    for (let i = 0; i < numPoints; ) {
      const f = v.getUint8(p++);
      flags[i++] = f;
      if (f & 0x08) {
        let repeat = v.getUint8(p++);
        while (repeat-- > 0 && i < numPoints) flags[i++] = f;
      }
    }
    const xs = new Int32Array(numPoints);
    const ys = new Int32Array(numPoints);
    let x = 0;
    for (let i = 0; i < numPoints; i++) {
      const f = flags[i];
      if (f & 0x02) {
        const dx = v.getUint8(p++);
        x += f & 0x10 ? dx : -dx;
      } else if (!(f & 0x10)) {
        x += v.getInt16(p);
        p += 2;
      }
      xs[i] = x;
    }
    let y = 0;
    for (let i = 0; i < numPoints; i++) {
      const f = flags[i];
      if (f & 0x04) {
        const dy = v.getUint8(p++);
        y += f & 0x20 ? dy : -dy;
      } else if (!(f & 0x20)) {
        y += v.getInt16(p);
        p += 2;
      }
      ys[i] = y;
    }
    const contours: Point[][] = [];
    let first = 0;
    for (const last of endPts) {
      const c: Point[] = [];
      for (let i = first; i <= last; i++) c.push({ x: xs[i], y: ys[i], on: (flags[i] & 1) === 1 });
      contours.push(c);
      first = last + 1;
    }
    return contours;
  }

  /** SVG path data of a glyph in font units with y pointing down (baseline at 0). */
  pathData(glyph: number): string {
    let d = '';
    const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
    const pt = (p: { x: number; y: number }) => `${num(p.x)} ${num(-p.y)}`;
    const mid = (a: Point, b: Point): Point => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, on: true });
    for (const pts of this.contours(glyph)) {
      const n = pts.length;
      if (n === 0) continue;
      let startPt: Point;
      let order: Point[];
      if (pts[0].on) {
        startPt = pts[0];
        order = pts.slice(1);
      } else if (pts[n - 1].on) {
        startPt = pts[n - 1];
        order = pts.slice(0, n - 1);
      } else {
        startPt = mid(pts[n - 1], pts[0]);
        order = pts;
      }
      d += `M${pt(startPt)}`;
      let ctrl: Point | null = null;
      for (const p of order) {
        if (p.on) {
          d += ctrl ? `Q${pt(ctrl)} ${pt(p)}` : `L${pt(p)}`;
          ctrl = null;
        } else {
          if (ctrl) d += `Q${pt(ctrl)} ${pt(mid(ctrl, p))}`;
          ctrl = p;
        }
      }
      if (ctrl) d += `Q${pt(ctrl)} ${pt(startPt)}`;
      d += 'Z';
    }
    return d;
  }
}
