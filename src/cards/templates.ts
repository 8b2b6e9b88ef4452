/** The card templates a seller can pick from (ids are stored with orders). */

export const TEMPLATE_IDS = ['clean', 'bold', 'promo'] as const;
export type TemplateId = (typeof TEMPLATE_IDS)[number];

export interface TemplateInfo {
  id: TemplateId;
  name: { ru: string; en: string };
  description: { ru: string; en: string };
}

export const TEMPLATES: readonly TemplateInfo[] = [
  {
    id: 'clean',
    name: { ru: 'Чистый', en: 'Clean' },
    description: {
      ru: 'Светлый фон, фото на белой карточке, преимущества с галочками',
      en: 'Light background, photo on a white panel, features with check marks',
    },
  },
  {
    id: 'bold',
    name: { ru: 'Контраст', en: 'Bold' },
    description: {
      ru: 'Фото во всю ширину, тёмный блок с крупным заголовком',
      en: 'Full-width photo, dark block with a large headline',
    },
  },
  {
    id: 'promo',
    name: { ru: 'Акция', en: 'Promo' },
    description: {
      ru: 'Яркий градиент и крупный ценник',
      en: 'Bright gradient and a big price badge',
    },
  },
];

export const DEFAULT_TEMPLATE: TemplateId = 'clean';

export function isTemplateId(value: unknown): value is TemplateId {
  return typeof value === 'string' && (TEMPLATE_IDS as readonly string[]).includes(value);
}

export function templateInfo(id: TemplateId): TemplateInfo {
  const t = TEMPLATES.find((x) => x.id === id);
  if (!t) throw new Error(`unknown template ${id}`);
  return t;
}
