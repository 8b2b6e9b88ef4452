// A cheap look at a multipart/form-data body before the real parser (undici's, through
// hono) sees it. That parser runs on the event loop in one go: 60,000 empty fields or a
// 10 MB text field cost it ~300 ms, during which every other request waits. A card needs
// a handful of parts and short texts, so more parts or a longer text part is refused
// here, with Buffer.indexOf (native) doing the scanning.
//
// Counting every occurrence of "--boundary" over-counts parts, never under-counts them
// (the parser splits only there), and the bytes between two occurrences bound a part's
// size, so nothing the parser accepts can get past these limits.

export interface MultipartLimits {
  /** Parts of any kind. */
  maxParts: number;
  /** Bytes of one part that is not a file (no filename in its headers). */
  maxFieldBytes: number;
}

export type MultipartProblem = { field: string; message: string } | null;

const HEADERS_AT_MOST = 2048;
const FILENAME = /;\s*filename\*?\s*=/i;
const NAME = /;\s*name\s*=\s*(?:"([^"]{0,60})|([^;\s]{0,60}))/i;

export function checkMultipart(body: Uint8Array, contentType: string, limits: MultipartLimits): MultipartProblem {
  const m = /boundary\s*=\s*(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  if (!m) return { field: 'body', message: 'multipart/form-data without a boundary' };
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`, 'latin1');
  const at: number[] = [];
  for (let i = buf.indexOf(delimiter); i !== -1; i = buf.indexOf(delimiter, i + delimiter.length)) {
    at.push(i);
    // n + 1 delimiters frame n parts (the last one closes the body)
    if (at.length > limits.maxParts + 1) return { field: 'body', message: `more than ${limits.maxParts} form fields` };
  }
  for (let k = 0; k + 1 < at.length; k++) {
    const start = at[k] + delimiter.length;
    const size = at[k + 1] - start;
    if (size <= limits.maxFieldBytes) continue;
    const head = buf.subarray(start, start + HEADERS_AT_MOST).toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) return { field: 'body', message: 'a form part without headers' };
    const headers = head.slice(0, end);
    if (FILENAME.test(headers)) continue;
    const name = NAME.exec(headers);
    return { field: name ? (name[1] ?? name[2]) : 'body', message: `longer than ${Math.round(limits.maxFieldBytes / 1024)} KB` };
  }
  return null;
}
