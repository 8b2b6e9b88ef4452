/** Small previews of the templates, for the template-choice keyboard or an album. */
import sharp from 'sharp';
import { renderCard } from './render.ts';
import { SAMPLE_TEXT, samplePhoto, type SampleLang } from './sample.ts';
import type { TemplateId } from './templates.ts';

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

