/**
 * The card renderer's public API. Typical use:
 *
 *   const info = await inspectPhoto(photo);        // early, cheap: tell the seller what is wrong
 *   const card = await renderCard({ photo, title, features, price, template }, { signal });
 *   // card.jpeg: 900×1200 sRGB JPEG (or 1200×1600 with size: 'large')
 *   const thumb = await renderPreview('clean', { lang: 'ru' }); // 300×400 JPEG, cached
 *   const strip = await renderPreviewStrip('en');  // every template side by side, cached
 */
export { BadPhotoError, inspectPhoto, verifyPhoto, PHOTO_LIMITS, type BadPhotoCode, type PhotoInfo } from './photo.ts';
export { renderPreview, renderPreviewStrip, type PreviewOptions } from './preview.ts';
export {
  CARD_SIZES,
  prepareContent,
  renderCard,
  warmUp,
  type CardInput,
  type CardSize,
  type RenderedCard,
  type RenderOptions,
} from './render.ts';
export { DEFAULT_TEMPLATE, isTemplateId, TEMPLATE_IDS, TEMPLATES, templateInfo, type TemplateId, type TemplateInfo } from './templates.ts';
export { describeChars, FEATURE_MAX_CHARS, FEATURES_MAX, formatPrice, parsePrice, PRICE_MAX_CHARS, TITLE_MAX_CHARS, unsupportedChars } from './text.ts';
export {
  composeSet, cutoutPreview, cutoutStage, localBackdrops, setStage, SetViolationError, variantsStage,
  type BackdropContext, type BackdropSource, type CutStage, type SetComposer, type SetInput, type SetSlide, type VariantImage,
} from './generation.ts';
export { isMarketplaceId, MARKETPLACE_IDS, type MarketplaceId } from './marketplaces/presets.ts';
export { cutoutInThread } from './cutout/thread.ts';
