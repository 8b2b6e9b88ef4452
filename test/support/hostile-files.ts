// Hostile files, made in code (nothing binary or huge is committed): what sellers and
// attackers send instead of a product photo.
import { createDeflate } from 'node:zlib';
import sharp from 'sharp';

/** CRC-32 as PNG chunks use it. */
export function crc32(buf: Buffer): number {
  let c = ~0;
  for (let i = 0; i < buf.length; i++) {
    c ^= buf[i];
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A real 30 000 × 30 000 1-bit PNG: ~110 KB on disk, 900 megapixels decoded. */
export async function bombPng(side = 30000): Promise<Buffer> {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const deflate = createDeflate({ level: 1 });
  const parts: Buffer[] = [];
  deflate.on('data', (d: Buffer) => parts.push(d));
  const rows = Buffer.alloc((1 + side / 8) * 500);
  for (let i = 0; i < side / 500; i++) deflate.write(rows);
  await new Promise<void>((resolve) => deflate.end(resolve));
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', Buffer.concat(parts)), chunk('IEND', Buffer.alloc(0))]);
}

export async function productPhoto(width = 800, height = 600): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#d8c3a5' } })
    .composite([{ input: Buffer.from(`<svg width="${width}" height="${height}"><circle cx="${width / 2}" cy="${height / 2}" r="${Math.min(width, height) / 3}" fill="#8e3b2f"/></svg>`) }])
    .jpeg().toBuffer();
}

export async function corruptJpeg(): Promise<Buffer> {
  const good = await sharp({ create: { width: 600, height: 600, channels: 3, background: '#c33', noise: { type: 'gaussian', mean: 120, sigma: 40 } } }).jpeg().toBuffer();
  return good.subarray(0, Math.floor(good.length / 2));
}

export async function animatedGif(): Promise<Buffer> {
  const frame = (c: string) => sharp({ create: { width: 200, height: 200, channels: 3, background: c } }).png().toBuffer();
  return sharp([await frame('#f00'), await frame('#00f')], { join: { animated: true } }).gif().toBuffer();
}

/** A noisy PNG cut short: its header (all that inspectPhoto reads) is intact. */
export async function truncatedPng(keep = 0.6): Promise<Buffer> {
  const good = await sharp({ create: { width: 600, height: 600, channels: 3, background: '#3a7bd5', noise: { type: 'gaussian', mean: 120, sigma: 40 } } }).png().toBuffer();
  return good.subarray(0, Math.floor(good.length * keep));
}

/** A valid PNG of width × height that compresses well (a big decode, a small upload). */
export async function largePng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#d8c3a5' } })
    .composite([{ input: Buffer.from(`<svg width="${width}" height="${height}"><circle cx="${width / 2}" cy="${height / 2}" r="${Math.min(width, height) / 3}" fill="#8e3b2f"/></svg>`) }])
    .png().toBuffer();
}
