// The selling-copy task: what we ask the model for, and how its answer is checked and
// clamped to what the renderer can typeset. The model only writes words; the card's
// text is always set by src/cards.
import { z } from 'zod';
import { cleanText, FEATURE_MAX_CHARS, FEATURES_MAX, TITLE_MAX_CHARS, truncateChars } from '../cards/text.ts';
import type { ChatRequest } from './openrouter.ts';

export interface Copy { title: string; features: string[] }
export interface CopyInput extends Copy { price?: string | null; lang?: string }

const LANG_NAMES: Record<string, string> = { ru: 'Russian', en: 'English' };

export const COPY_SCHEMA = {
  type: 'object',
  properties: {
    title: { type: 'string', description: `Product title, at most ${TITLE_MAX_CHARS} characters` },
    features: {
      type: 'array', maxItems: FEATURES_MAX,
      items: { type: 'string', description: `One key benefit, at most ${FEATURE_MAX_CHARS} characters` },
    },
  },
  required: ['title', 'features'],
  additionalProperties: false,
} as const;

export function copyRequest(input: CopyInput): ChatRequest {
  const lang = LANG_NAMES[input.lang ?? ''];
  const system = [
    'You write selling copy for a marketplace product card (Wildberries, Ozon).',
    `Rewrite the seller's title (at most ${TITLE_MAX_CHARS} characters) and up to ${FEATURES_MAX} key features`,
    `(each at most ${FEATURE_MAX_CHARS} characters) so they sell better: concrete, benefit first, no emoji,`,
    'no exclamation marks, no claims the seller did not make, keep every number and size exactly.',
    "Write in the same language as the seller's text" + (lang ? ` (the seller uses ${lang})` : '') + '.',
    'Answer with JSON only: {"title": string, "features": string[]}.',
  ].join(' ');
  const user = JSON.stringify({ title: input.title, features: input.features, price: input.price ?? null });
  return {
    messages: [{ role: 'system', content: system }, { role: 'user', content: user }],
    responseFormat: { type: 'json_schema', json_schema: { name: 'card_copy', strict: true, schema: COPY_SCHEMA } },
    temperature: 0.7,
    maxTokens: 600,
  };
}

const answer = z.object({
  title: z.string(),
  features: z.array(z.string()).default([]),
});

/**
 * The model's message content → clamped copy, or null when it is not usable (not
 * JSON, wrong shape, or an empty title after cleaning). Missing features keep the
 * seller's own, so a terse answer never loses what the seller wrote.
 */
export function parseCopy(content: string, seller: Copy): Copy | null {
  const raw = content.trim().replace(/^```(?:json)?\s*/i, '').replace(/\s*```$/, '');
  let json: unknown;
  try { json = JSON.parse(raw); } catch { return null; }
  const parsed = answer.safeParse(json);
  if (!parsed.success) return null;
  const title = truncateChars(cleanText(parsed.data.title, 'bold'), TITLE_MAX_CHARS);
  if (!title) return null;
  const features = parsed.data.features
    .map((f) => truncateChars(cleanText(f, 'regular'), FEATURE_MAX_CHARS))
    .filter(Boolean)
    .slice(0, FEATURES_MAX);
  return { title, features: features.length > 0 || seller.features.length === 0 ? features : seller.features };
}
