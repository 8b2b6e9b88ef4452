/**
 * Each marketplace's published picture rules, as data. Sources and how sure each
 * figure is: docs/marketplaces.md. Where sources disagree or none is official, the
 * stricter figure is kept: we make the pictures, so staying inside costs nothing.
 */

export const MARKETPLACE_IDS = ['wb', 'ozon'] as const;
export type MarketplaceId = (typeof MARKETPLACE_IDS)[number];

export type SlideRole = 'main' | 'infographic' | 'detail';
export type Severity = 'error' | 'warning';

export interface MarketplacePreset {
  id: MarketplaceId;
  name: string;
  /** The size we produce (3:4). */
  size: { width: number; height: number };
  minWidth: number;
  minHeight: number;
  /** Longest side allowed. */
  maxSide: number;
  /** width / height, and how far off it may be. */
  aspect: number;
  aspectTolerance: number;
  formats: ReadonlyArray<'jpeg' | 'png' | 'webp'>;
  maxBytes: number;
  minSlides: number;
  maxSlides: number;
  /** What the main (first) picture may carry; each refusal with its severity. */
  main: { text: Severity | null; price: Severity | null };
  /** What any picture may carry. */
  any: { price: Severity | null };
}

const MB = 1024 * 1024;

export const PRESETS: Readonly<Record<MarketplaceId, MarketplacePreset>> = {
  wb: {
    id: 'wb',
    name: 'Wildberries',
    size: { width: 900, height: 1200 },
    minWidth: 900,
    minHeight: 1200,
    maxSide: 8000,
    aspect: 3 / 4,
    aspectTolerance: 0.01,
    formats: ['jpeg', 'png'],
    // No official figure found; 5 MB is the strictest any source names for either marketplace.
    maxBytes: 5 * MB,
    minSlides: 1,
    maxSlides: 30,
    // WB bans marketing phrases on pictures (since 2023); infographic text on the main picture is common and accepted.
    main: { text: null, price: 'warning' },
    any: { price: 'warning' },
  },
  ozon: {
    id: 'ozon',
    name: 'Ozon',
    size: { width: 900, height: 1200 },
    minWidth: 900,
    minHeight: 1200,
    maxSide: 8000,
    aspect: 3 / 4,
    aspectTolerance: 0.01,
    formats: ['jpeg', 'png'],
    maxBytes: 5 * MB,
    minSlides: 1,
    // Ozon: "no more than 30 photos: 1 main and 29 additional".
    maxSlides: 30,
    // The main picture: the product, no captions, no prices, no promo marks.
    main: { text: 'error', price: 'error' },
    any: { price: null },
  },
};

export function isMarketplaceId(v: unknown): v is MarketplaceId {
  return typeof v === 'string' && (MARKETPLACE_IDS as readonly string[]).includes(v);
}
