// Fetches a seller's photo URL for POST /api/cards: http/https only, at most
// `maxBytes`, within `timeoutMs` overall, at most 3 redirects (each checked again).
// Loopback, private, link-local and other non-public addresses (address-guard.ts) are refused unless
// API_ALLOW_PRIVATE_URLS (tests only). The check runs inside the socket's DNS lookup,
// so the address connected to is the address checked (no DNS-rebinding window).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPrivateAddress } from './address-guard.ts';
import { ApiError } from './errors.ts';

export { isPrivateAddress };

export interface FetchPhotoOptions { maxBytes: number; timeoutMs: number; allowPrivate: boolean }

const bad = (message: string) => new ApiError(400, 'invalid_photo_url', message);

export async function fetchPhoto(rawUrl: string, o: FetchPhotoOptions): Promise<Buffer> {
  const deadline = AbortSignal.timeout(o.timeoutMs);
  let url: URL;
  try { url = new URL(rawUrl); } catch { throw bad('photoUrl is not a valid URL'); }
  for (let hop = 0; hop <= 3; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('photoUrl must be an http or https URL');
    if (url.username || url.password) throw bad('photoUrl must not carry credentials');
    const res = await get(url, o, deadline);
    if (res.kind === 'redirect') {
      try { url = new URL(res.location, url); } catch { throw bad('photoUrl redirects to an invalid URL'); }
      continue;
    }
    return res.body;
  }
  throw bad('photoUrl redirects more than 3 times');
}

type Got = { kind: 'redirect'; location: string } | { kind: 'body'; body: Buffer };

function get(url: URL, o: FetchPhotoOptions, signal: AbortSignal): Promise<Got> {
  const lookup: LookupFunction = (hostname, options, cb) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return cb(err, '', 4);
      const list = (addresses as unknown as LookupAddress[]);
      const ok = o.allowPrivate ? list : list.filter((a) => !isPrivateAddress(a.address));
      if (ok.length === 0) {
        const e = Object.assign(new Error(`${hostname} resolves to a private or loopback address`), { code: 'PRIVATE_ADDRESS' });
        return cb(e, '', 4);
      }
      if ((options as { all?: boolean }).all) return (cb as unknown as (e: null, a: LookupAddress[]) => void)(null, ok);
      cb(null, ok[0].address, ok[0].family);
    });
  };
  return new Promise<Got>((resolve, reject) => {
    // A literal IP skips lookup(): check it here.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !o.allowPrivate && isPrivateAddress(host)) {
      reject(bad('photoUrl points at a private or loopback address')); return;
    }
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.get(url, { lookup, signal, headers: { 'user-agent': 'neurocards/1 (+photo fetch)', accept: 'image/*' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        resolve({ kind: 'redirect', location: res.headers.location });
        return;
      }
      if (status !== 200) { res.resume(); reject(bad(`photoUrl answered HTTP ${status}`)); return; }
      const declared = Number(res.headers['content-length'] ?? NaN);
      const tooBig = () => new ApiError(413, 'photo_too_large', `the photo is larger than ${Math.round(o.maxBytes / 1048576)} MB`);
      if (declared > o.maxBytes) { res.destroy(); reject(tooBig()); return; }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > o.maxBytes) { res.destroy(); reject(tooBig()); return; }
        chunks.push(c);
      });
      res.on('end', () => resolve({ kind: 'body', body: Buffer.concat(chunks) }));
      res.on('error', (err) => reject(signal.aborted ? bad(`photoUrl took longer than ${o.timeoutMs} ms`) : bad(`photoUrl download failed: ${err.message}`)));
    });
    req.on('error', (err: Error & { code?: string }) => {
      if (signal.aborted) reject(bad(`photoUrl took longer than ${o.timeoutMs} ms`));
      else if (err.code === 'PRIVATE_ADDRESS') reject(bad('photoUrl points at a private or loopback address'));
      else reject(bad(`photoUrl could not be fetched: ${err.message}`));
    });
  });
}
