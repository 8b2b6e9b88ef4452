// The template picker's picture: the three templates side by side (sample photo and
// words in the user's language), rendered once per language and process; after the
// first upload Telegram's file_id is reused.
import sharp from 'sharp';
import { renderCard } from '../cards/render.ts';
import { SAMPLE_TEXT, samplePhoto } from '../cards/sample.ts';
import { TEMPLATE_IDS } from '../cards/templates.ts';
import type { Lang } from './i18n/index.ts';

const W = 300;
const H = 400;
const strips = new Map<Lang, Promise<Buffer>>();
/** `${botId}:${lang}` → Telegram file_id of the uploaded picture. */
export const previewFileIds = new Map<string, string>();

export function previewStrip(lang: Lang): Promise<Buffer> {
  let p = strips.get(lang);
  if (!p) {
    p = (async () => {
      const photo = await samplePhoto(800, 800);
      const tiles = await Promise.all(TEMPLATE_IDS.map(async (template) => {
        const card = await renderCard({ photo, ...SAMPLE_TEXT[lang], template });
        return sharp(card.jpeg).resize(W, H).toBuffer();
      }));
      return sharp({ create: { width: W * tiles.length + 10 * (tiles.length - 1), height: H, channels: 3, background: '#ffffff' } })
        .composite(tiles.map((input, i) => ({ input, left: i * (W + 10), top: 0 })))
        .jpeg({ quality: 85 })
        .toBuffer();
    })();
    p.catch(() => strips.delete(lang));
    strips.set(lang, p);
  }
  return p;
}
