/**
 * Minimal, tolerant multipart/form-data parser for the fake Telegram server.
 *
 * Why not `new Request(...).formData()`? Node 20's undici parser rejects the
 * multipart dialect grammY emits (`content-disposition:form-data;name="x"` —
 * no spaces — and unquoted `filename=photo.jpg`), while the real Bot API
 * accepts it. This parser accepts both that and the standard (browser /
 * undici FormData) dialect.
 */

export interface MultipartField {
  kind: 'field';
  name: string;
  value: string;
}

export interface MultipartFile {
  kind: 'file';
  name: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

export type MultipartPart = MultipartField | MultipartFile;

/** Extracts the boundary from a `multipart/form-data; boundary=...` header. */
export function getBoundary(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const m = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Parses `name="x"; filename=y` style header parameters (case-insensitive keys). */
export function parseHeaderParams(value: string): { value: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  let i = value.indexOf(';');
  const main = (i === -1 ? value : value.slice(0, i)).trim().toLowerCase();
  if (i === -1) return { value: main, params };
  const rest = value.slice(i + 1);
  // key=value | key="quoted \"value\"" ; separated
  const re = /\s*([^=;\s]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*)))?\s*;?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rest)) !== null) {
    if (m[0] === '') {
      re.lastIndex++;
      if (re.lastIndex > rest.length) break;
      continue;
    }
    const key = m[1]!.toLowerCase();
    let v = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '').trim();
    if (key.endsWith('*')) {
      // RFC 5987: filename*=UTF-8''%E2%82%AC
      const ext = /^([^']*)'[^']*'(.*)$/.exec(v);
      if (ext) {
        try {
          v = decodeURIComponent(ext[2]!);
        } catch {
          /* keep raw */
        }
      }
      params[key.slice(0, -1)] = v;
      continue;
    }
    if (!(key in params)) params[key] = v;
  }
  return { value: main, params };
}

/**
 * Parses a complete multipart body. Throws on structurally broken input
 * (missing boundary / no parts).
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delim = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(delim);
  if (pos === -1) throw new Error('multipart: boundary not found');
  while (true) {
    pos += delim.length;
    // closing delimiter "--"
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break;
    // skip transport padding + CRLF
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    else if (body[pos] === 0x0a) pos += 1;
    const next = body.indexOf(delim, pos);
    if (next === -1) throw new Error('multipart: unterminated part');
    // part content ends before the CRLF preceding the next delimiter
    let end = next;
    if (body[end - 2] === 0x0d && body[end - 1] === 0x0a) end -= 2;
    else if (body[end - 1] === 0x0a) end -= 1;
    const part = body.subarray(pos, end);
    let headerEnd = part.indexOf('\r\n\r\n');
    let sepLen = 4;
    if (headerEnd === -1) {
      headerEnd = part.indexOf('\n\n');
      sepLen = 2;
    }
    if (headerEnd === -1) {
      // a part with no headers at all
      if (part.length === 0) {
        pos = next;
        continue;
      }
      throw new Error('multipart: part without header terminator');
    }
    const headerText = part.subarray(0, headerEnd).toString('utf8');
    const data = part.subarray(headerEnd + sepLen);
    const headers: Record<string, string> = {};
    for (const line of headerText.split(/\r?\n/)) {
      const c = line.indexOf(':');
      if (c === -1) continue;
      headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    const cd = headers['content-disposition'];
    if (cd) {
      const { params } = parseHeaderParams(cd);
      const name = params['name'];
      if (name !== undefined) {
        if (params['filename'] !== undefined) {
          parts.push({
            kind: 'file',
            name,
            filename: params['filename'],
            contentType: headers['content-type'] ?? 'application/octet-stream',
            data: Buffer.from(data),
          });
        } else {
          parts.push({ kind: 'field', name, value: data.toString('utf8') });
        }
      }
    }
    pos = next;
  }
  return parts;
}
