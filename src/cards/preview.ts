/** Small previews of the templates (one, or all side by side) for choosing a template. */
import sharp from 'sharp';
import { renderCard } from './render.ts';
import { SAMPLE_TEXT, samplePhoto, type SampleLang } from './sample.ts';
import { TEMPLATE_IDS, type TemplateId } from './templates.ts';

export interface PreviewOptions {
  lang?: SampleLang;
  /** Preview width in pixels; height is 4/3 of it. Default 300. */
  width?: number;
}

const previews = new Map<string, Promise<Buffer>>();

/**
 * A small JPEG of a template (default 300×400) made from the sample photo and
 * words, for the template-choice keyboard or an album. Cached per arguments.
 */
export function renderPreview(template: TemplateId, opts: PreviewOptions = {}): Promise<Buffer> {
  const lang = opts.lang ?? 'ru';
  const width = Math.round(opts.width ?? 300);
  if (!(width >= 30 && width <= 900)) throw new RangeError('preview width must be 30–900 px');
  const key = `${template}:${lang}:${width}`;
  let p = previews.get(key);
  if (!p) {
    p = (async () => {
      const text = SAMPLE_TEXT[lang];
      const card = await renderCard({ photo: await samplePhoto(), ...text, template });
      return sharp(card.jpeg)
        .resize(width, Math.round((width * 4) / 3), { kernel: 'lanczos3' })
        .jpeg({ quality: 86 })
        .toBuffer();
    })();
    p.catch(() => previews.delete(key));
    previews.set(key, p);
  }
  return p;
}


const STRIP_TILE = 300;
const STRIP_GAP = 10;
const strips = new Map<SampleLang, Promise<Buffer>>();

/**
 * Every template's preview (300×400) side by side, 10 px apart on white: the picture
 * the bot shows with its template buttons. Cached per language.
 */
export function renderPreviewStrip(lang: SampleLang = 'ru'): Promise<Buffer> {
  let p = strips.get(lang);
  if (!p) {
    p = (async () => {
      const tiles = await Promise.all(TEMPLATE_IDS.map((t) => renderPreview(t, { lang, width: STRIP_TILE })));
      const height = Math.round((STRIP_TILE * 4) / 3);
      return sharp({ create: { width: STRIP_TILE * tiles.length + STRIP_GAP * (tiles.length - 1), height, channels: 3, background: '#ffffff' } })
        .composite(tiles.map((input, i) => ({ input, left: i * (STRIP_TILE + STRIP_GAP), top: 0 })))
        .jpeg({ quality: 85 })
        .toBuffer();
    })();
    p.catch(() => strips.delete(lang));
    strips.set(lang, p);
  }
  return p;
}
