// One image generation through OpenRouter's chat completions: `modalities: ["image",
// "text"]`, the picture comes back as a data URL in choices[0].message.images[].image_url.url
// and the price in usage.cost (USD credits). Provider trouble (429, 5xx, timeout) is thrown
// as AiCallError by postChat; a 200 without a usable picture is an answer, not an error:
// it was paid for, and its cost is reported like an image's.
import { postChat, type OpenRouterOptions } from './openrouter.ts';

export type ImageAnswer =
  | { kind: 'image'; bytes: Buffer; mime: string; costUsd: number }
  | { kind: 'no_image' | 'refusal'; costUsd: number };

export interface ImageRequest {
  prompt: string;
  /** e.g. "3:4"; sent as image_config.aspect_ratio (models that ignore it answer square). */
  aspectRatio?: string;
}

/** Larger answers are refused: a backdrop is at most a few MB. */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
const DATA_URL = /^data:(image\/(?:png|jpeg|jpg|webp));base64,([A-Za-z0-9+/=\s]+)$/;
// Finish reasons meaning the model declined (OpenAI's, and Gemini's native ones).
const REFUSED = /content_filter|safety|prohibited|blocklist|recitation|refus/i;

export function costOf(body: any): number {
  const c = Number(body?.usage?.cost);
  return Number.isFinite(c) && c >= 0 ? c : 0;
}

/** The first usable picture in a chat completion answer, or why there is none. */
export function readImageAnswer(body: any): ImageAnswer {
  const costUsd = costOf(body);
  const choice = body?.choices?.[0];
  const message = choice?.message;
  for (const img of Array.isArray(message?.images) ? message.images : []) {
    const url = img?.image_url?.url;
    // Only inline data URLs: fetching a URL the model chose is not something we do.
    const m = typeof url === 'string' && url.length <= MAX_IMAGE_BYTES * 1.4 ? DATA_URL.exec(url) : null;
    if (!m) continue;
    const bytes = Buffer.from(m[2]!, 'base64');
    if (bytes.length > 0 && bytes.length <= MAX_IMAGE_BYTES) return { kind: 'image', bytes, mime: m[1]!, costUsd };
  }
  const refused = (typeof message?.refusal === 'string' && message.refusal.trim() !== '')
    || REFUSED.test(String(choice?.finish_reason ?? '')) || REFUSED.test(String(choice?.native_finish_reason ?? ''));
  return { kind: refused ? 'refusal' : 'no_image', costUsd };
}

export async function imageCompletion(o: OpenRouterOptions, req: ImageRequest, timeoutMs: number, signal?: AbortSignal): Promise<ImageAnswer> {
  const body = await postChat(o, {
    model: o.model,
    messages: [{ role: 'user', content: req.prompt }],
    modalities: ['image', 'text'],
    ...(req.aspectRatio ? { image_config: { aspect_ratio: req.aspectRatio } } : {}),
    stream: false,
  }, timeoutMs, signal);
  return readImageAnswer(body);
}
