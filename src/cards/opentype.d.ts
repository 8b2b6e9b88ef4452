// Minimal typings for the parts of opentype.js (1.3.x) that src/cards uses.
declare module 'opentype.js' {
  export interface OtPath {
    toPathData(decimalPlaces?: number): string;
  }
  export interface OtGlyph {
    index: number;
    name?: string;
    unicode?: number;
    advanceWidth?: number;
    getPath(x: number, y: number, fontSize: number): OtPath;
  }
  export interface OtFont {
    unitsPerEm: number;
    ascender: number;
    descender: number;
    names: { fontFamily?: Record<string, string>; fontSubfamily?: Record<string, string> };
    kerningPairs: Record<string, number>;
    glyphs: { length: number; get(index: number): OtGlyph };
    charToGlyphIndex(char: string): number;
    charToGlyph(char: string): OtGlyph;
  }
  export function parse(buffer: ArrayBuffer): OtFont;
  const opentype: { parse: typeof parse };
  export default opentype;
}
