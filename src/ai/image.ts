// One image generation through OpenRouter's chat completions: `modalities: ["image",
// "text"]`, the picture comes back as a data URL in choices[0].message.images[].image_url.url
// and the price in usage.cost (USD credits). Provider trouble (429, 5xx, timeout) is thrown
// as AiCallError by postChatRaw; a 200 without a usable picture is an answer, not an error:
// it was paid for, and its cost is reported like an image's.
//
// Memory: an answer is a few MB of base64 inside JSON, and hundreds of calls may be open at
// once. The body is read as one capped Buffer; the base64 run is cut out of it and kept as
// one one-byte string (what the ledger stores, as received); only the small rest of the JSON
// is parsed. Nothing is decoded here: the caller records the answer first, then decodes.
import { AiCallError, postChatRaw, throwIfErrorBody, type OpenRouterOptions } from './openrouter.ts';

export type ImageAnswer =
  /** `b64`: the picture's base64 exactly as the provider sent it (not yet decoded or checked). */
  | { kind: 'image'; b64: string; mime: string; costUsd: number }
  | { kind: 'no_image' | 'refusal'; costUsd: number };

export interface ImageRequest {
  prompt: string;
  /** e.g. "3:4"; sent as image_config.aspect_ratio (models that ignore it answer square). */
  aspectRatio?: string;
}

/** Larger pictures are refused: a backdrop is at most a few MB. */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
/** base64 of MAX_IMAGE_BYTES, and the whole answer around it. */
const MAX_B64_CHARS = Math.ceil(MAX_IMAGE_BYTES / 3) * 4;
const MAX_IMAGE_ANSWER_BYTES = MAX_B64_CHARS + 1024 * 1024;
const DATA_URL = /^data:(image\/(?:png|jpeg|jpg|webp));base64,([A-Za-z0-9+/=\s]+)$/;
const MIME = /^data:(image\/(?:png|jpeg|jpg|webp));base64,$/;
// What Postgres' decode(…, 'base64') accepts: the alphabet, padded to whole quads.
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
// Finish reasons meaning the model declined (OpenAI's, and Gemini's native ones).
const REFUSED = /content_filter|safety|prohibited|blocklist|recitation|refus/i;

export function costOf(body: any): number {
  const c = Number(body?.usage?.cost);
  return Number.isFinite(c) && c >= 0 ? c : 0;
}

/** Base64 the ledger can store and a decoder can read, within the size cap; null otherwise. */
function usableB64(b64: string): string | null {
  const clean = /\s/.test(b64) ? b64.replace(/\s+/g, '') : b64;
  if (clean.length === 0 || clean.length % 4 !== 0 || clean.length > MAX_B64_CHARS || !B64.test(clean)) return null;
  return clean;
}

function noImage(body: any): ImageAnswer {
  const choice = body?.choices?.[0];
  const message = choice?.message;
  const refused = (typeof message?.refusal === 'string' && message.refusal.trim() !== '')
    || REFUSED.test(String(choice?.finish_reason ?? '')) || REFUSED.test(String(choice?.native_finish_reason ?? ''));
  return { kind: refused ? 'refusal' : 'no_image', costUsd: costOf(body) };
}

/** The first usable picture in a parsed chat completion answer, or why there is none. */
export function readImageAnswer(body: any): ImageAnswer {
  const images = body?.choices?.[0]?.message?.images;
  for (const img of Array.isArray(images) ? images : []) {
    const url = img?.image_url?.url;
    // Only inline data URLs: fetching a URL the model chose is not something we do.
    const m = typeof url === 'string' && url.length <= MAX_B64_CHARS * 1.1 ? DATA_URL.exec(url) : null;
    const b64 = m ? usableB64(m[2]!) : null;
    if (b64) return { kind: 'image', b64, mime: m![1]!, costUsd: costOf(body) };
  }
  return noImage(body);
}

/**
 * The same from the raw answer bytes without parsing the picture: the first
 * `"data:image/…;base64,` run is cut out as a latin1 string and the rest (a few hundred
 * bytes) parsed, then checked to be the image_url of an image. Anything unusual (escapes
 * inside the run, the run somewhere else) falls back to parsing the whole answer.
 */
export function readImageAnswerRaw(raw: Buffer, res: { status: number; headers: Headers }): ImageAnswer {
  const parseAll = (): ImageAnswer => {
    let body: any;
    try { body = JSON.parse(raw.toString('utf8')); } catch { throw new AiCallError('bad_response', 'response is not JSON', res.status); }
    throwIfErrorBody(body, res);
    return readImageAnswer(body);
  };
  const start = raw.indexOf('"data:image/');
  if (start < 0) return parseAll();
  const comma = raw.indexOf(';base64,', start);
  const end = comma < 0 ? -1 : raw.indexOf(0x22 /* " */, comma + 8);
  if (end < 0 || comma - start > 40) return parseAll();
  const prefix = raw.toString('latin1', start + 1, comma + 8);
  if (!MIME.test(prefix) || raw.subarray(comma + 8, end).includes(0x5c /* \ */)) return parseAll();
  let body: any;
  try { body = JSON.parse(Buffer.concat([raw.subarray(0, comma + 8), raw.subarray(end)]).toString('utf8')); } catch { return parseAll(); }
  throwIfErrorBody(body, res);
  const images = body?.choices?.[0]?.message?.images;
  // The cut must have been the first image's url (not, say, text that quotes a data URL).
  if (!Array.isArray(images) || images[0]?.image_url?.url !== prefix) return parseAll();
  const b64 = usableB64(raw.toString('latin1', comma + 8, end));
  if (!b64) return images.length > 1 ? parseAll() : noImage(body);
  return { kind: 'image', b64, mime: MIME.exec(prefix)![1]!, costUsd: costOf(body) };
}

/** The answer, and when its headers arrived (performance.now(): the paid call is over then). */
export async function imageCompletion(o: OpenRouterOptions, req: ImageRequest, timeoutMs: number, signal?: AbortSignal,
  beforeBody?: () => Promise<void>): Promise<ImageAnswer & { receivedAt: number }> {
  const { raw, res, receivedAt } = await postChatRaw(o, {
    model: o.model,
    messages: [{ role: 'user', content: req.prompt }],
    modalities: ['image', 'text'],
    ...(req.aspectRatio ? { image_config: { aspect_ratio: req.aspectRatio } } : {}),
    stream: false,
  }, timeoutMs, signal, MAX_IMAGE_ANSWER_BYTES, beforeBody);
  return { ...readImageAnswerRaw(raw, res), receivedAt };
}
