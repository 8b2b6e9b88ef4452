/**
 * A product-like studio photo drawn in code (a serum bottle with a dropper on a
 * soft backdrop) and sample words, for template previews, docs/card-example.jpg
 * and tests. No downloaded assets.
 */
import sharp from 'sharp';

export type SampleLang = 'ru' | 'en';

export const SAMPLE_TEXT: Record<SampleLang, { title: string; features: string[]; price: string }> = {
  ru: {
    title: 'Сыворотка для лица с витамином C и гиалуроновой кислотой',
    features: [
      'Выравнивает тон и придаёт сияние',
      'Увлажняет кожу на 24 часа',
      'Подходит для чувствительной кожи',
      'Флакон 30 мл — хватает на 2 месяца',
      'Без парабенов и отдушек',
    ],
    price: '1290',
  },
  en: {
    title: 'Vitamin C face serum with hyaluronic acid',
    features: [
      'Evens skin tone, adds glow',
      'Moisturises for 24 hours',
      'Suits sensitive skin',
      '30 ml bottle lasts 2 months',
      'No parabens, no fragrance',
    ],
    price: '1290',
  },
};

function bottleSvg(w: number, h: number): string {
  const cx = w / 2;
  const s = h / 1200;
  const X = (v: number) => (cx + v * s).toFixed(1);
  const Y = (v: number) => (v * s).toFixed(1);
  const L = (v: number) => (v * s).toFixed(1);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
<defs>
  <radialGradient id="bg" cx="0.5" cy="0.38" r="0.8"><stop offset="0" stop-color="#fbf7f1"/><stop offset="0.65" stop-color="#efe6da"/><stop offset="1" stop-color="#e0d3c2"/></radialGradient>
  <linearGradient id="glass" x1="0" y1="0" x2="1" y2="0">
    <stop offset="0" stop-color="#7a3b0c"/><stop offset="0.18" stop-color="#c9761f"/><stop offset="0.38" stop-color="#e89a3c"/>
    <stop offset="0.62" stop-color="#b8661a"/><stop offset="1" stop-color="#5c2a06"/></linearGradient>
  <linearGradient id="cap" x1="0" y1="0" x2="1" y2="0">
    <stop offset="0" stop-color="#111"/><stop offset="0.3" stop-color="#4a4a4a"/><stop offset="0.55" stop-color="#222"/><stop offset="1" stop-color="#050505"/></linearGradient>
  <linearGradient id="bulb" x1="0" y1="0" x2="1" y2="0">
    <stop offset="0" stop-color="#1b1b1b"/><stop offset="0.35" stop-color="#5b5b5b"/><stop offset="1" stop-color="#0b0b0b"/></linearGradient>
  <linearGradient id="label" x1="0" y1="0" x2="1" y2="0">
    <stop offset="0" stop-color="#e9e4dc"/><stop offset="0.3" stop-color="#fffdf9"/><stop offset="0.7" stop-color="#f6f2ec"/><stop offset="1" stop-color="#d6d0c6"/></linearGradient>
  <filter id="soft" x="-50%" y="-50%" width="200%" height="200%"><feGaussianBlur stdDeviation="${L(18)}"/></filter>
  <filter id="softer" x="-50%" y="-50%" width="200%" height="200%"><feGaussianBlur stdDeviation="${L(6)}"/></filter>
</defs>
<rect width="${w}" height="${h}" fill="url(#bg)"/>
<ellipse cx="${X(30)}" cy="${Y(1045)}" rx="${L(250)}" ry="${L(34)}" fill="#6b5a45" opacity="0.35" filter="url(#soft)"/>
<ellipse cx="${X(0)}" cy="${Y(1038)}" rx="${L(170)}" ry="${L(14)}" fill="#3d3023" opacity="0.45" filter="url(#softer)"/>
<!-- leaf props -->
<g opacity="0.9">
  <path d="M${X(-420)} ${Y(1080)} C ${X(-380)} ${Y(900)} ${X(-250)} ${Y(860)} ${X(-190)} ${Y(880)} C ${X(-230)} ${Y(980)} ${X(-320)} ${Y(1060)} ${X(-420)} ${Y(1080)} Z" fill="#7fa36b"/>
  <path d="M${X(-420)} ${Y(1080)} C ${X(-340)} ${Y(990)} ${X(-260)} ${Y(920)} ${X(-190)} ${Y(880)}" stroke="#5d7f4c" stroke-width="${L(4)}" fill="none"/>
  <circle cx="${X(330)}" cy="${Y(1010)}" r="${L(62)}" fill="#f3a43a"/>
  <circle cx="${X(330)}" cy="${Y(1010)}" r="${L(48)}" fill="#f8c15e"/>
  <path d="M${X(330)} ${Y(962)} L${X(330)} ${Y(1058)} M${X(282)} ${Y(1010)} L${X(378)} ${Y(1010)} M${X(296)} ${Y(976)} L${X(364)} ${Y(1044)} M${X(364)} ${Y(976)} L${X(296)} ${Y(1044)}" stroke="#f3a43a" stroke-width="${L(3)}"/>
</g>
<!-- bottle body -->
<path d="M${X(-150)} ${Y(520)} Q ${X(-150)} ${Y(470)} ${X(-100)} ${Y(462)} L ${X(-62)} ${Y(455)} L ${X(-62)} ${Y(420)} L ${X(62)} ${Y(420)} L ${X(62)} ${Y(455)} L ${X(100)} ${Y(462)} Q ${X(150)} ${Y(470)} ${X(150)} ${Y(520)} L ${X(150)} ${Y(1000)} Q ${X(150)} ${Y(1040)} ${X(110)} ${Y(1040)} L ${X(-110)} ${Y(1040)} Q ${X(-150)} ${Y(1040)} ${X(-150)} ${Y(1000)} Z" fill="url(#glass)"/>
<rect x="${X(-120)}" y="${Y(520)}" width="${L(18)}" height="${L(470)}" rx="${L(9)}" fill="#ffffff" opacity="0.35"/>
<rect x="${X(96)}" y="${Y(540)}" width="${L(8)}" height="${L(420)}" rx="${L(4)}" fill="#ffffff" opacity="0.18"/>
<!-- label -->
<rect x="${X(-150)}" y="${Y(640)}" width="${L(300)}" height="${L(270)}" fill="url(#label)"/>
<rect x="${X(-95)}" y="${Y(682)}" width="${L(190)}" height="${L(22)}" rx="${L(4)}" fill="#2b2b2b"/>
<rect x="${X(-70)}" y="${Y(722)}" width="${L(140)}" height="${L(10)}" rx="${L(3)}" fill="#b0a79b"/>
<circle cx="${X(0)}" cy="${Y(800)}" r="${L(38)}" fill="#f29b2f"/>
<circle cx="${X(0)}" cy="${Y(800)}" r="${L(24)}" fill="#fbd27b"/>
<rect x="${X(-80)}" y="${Y(862)}" width="${L(160)}" height="${L(9)}" rx="${L(3)}" fill="#c9c0b3"/>
<rect x="${X(-55)}" y="${Y(880)}" width="${L(110)}" height="${L(9)}" rx="${L(3)}" fill="#c9c0b3"/>
<!-- dropper cap and bulb -->
<rect x="${X(-78)}" y="${Y(330)}" width="${L(156)}" height="${L(100)}" rx="${L(10)}" fill="url(#cap)"/>
<rect x="${X(-78)}" y="${Y(344)}" width="${L(156)}" height="${L(4)}" fill="#000" opacity="0.4"/>
<rect x="${X(-78)}" y="${Y(410)}" width="${L(156)}" height="${L(4)}" fill="#000" opacity="0.4"/>
<path d="M${X(-50)} ${Y(332)} L ${X(-50)} ${Y(230)} Q ${X(-50)} ${Y(150)} ${X(0)} ${Y(148)} Q ${X(50)} ${Y(150)} ${X(50)} ${Y(230)} L ${X(50)} ${Y(332)} Z" fill="url(#bulb)"/>
<rect x="${X(-30)}" y="${Y(190)}" width="${L(12)}" height="${L(120)}" rx="${L(6)}" fill="#ffffff" opacity="0.25"/>
</svg>`;
}

const photos = new Map<string, Promise<Buffer>>();

/** A 1200×1200 (or given size) JPEG product photo; cached per size. */
export function samplePhoto(width = 1200, height = 1200): Promise<Buffer> {
  const key = `${width}x${height}`;
  let p = photos.get(key);
  if (!p) {
    p = sharp(Buffer.from(bottleSvg(width, height))).jpeg({ quality: 90 }).toBuffer();
    p.catch(() => photos.delete(key));
    photos.set(key, p);
  }
  return p;
}
