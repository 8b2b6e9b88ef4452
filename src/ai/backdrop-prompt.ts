// What we ask the image model for: an empty scene for a product photo, matched to the
// card's template and variant. The product is composited locally from the real cut-out
// and every word is typeset locally, so the prompt forbids both: a generated product
// would not be the seller's, and image models garble letters (Cyrillic especially).

const STYLE: Record<string, [string, string, string]> = {
  clean: [
    'a bright, minimal studio set: seamless light grey paper sweep, soft diffused daylight',
    'a pale stone tabletop against a softly blurred light wall, morning window light',
    'a soft lilac-to-white gradient studio backdrop with a gentle glow behind the centre',
  ],
  bold: [
    'a dark, moody studio: deep navy seamless backdrop, a single soft spotlight on the floor',
    'a matte black surface against a dark blue wall with a subtle rim light',
    'a dark slate pedestal in a dim studio, cool blue accent light from the side',
  ],
  promo: [
    'a vivid warm studio: peach-to-pink gradient sweep, bright even light',
    'a glossy coral tabletop against a warm orange wall, festive soft bokeh',
    'a sunny pastel podium scene with soft shadows and a warm glow',
  ],
};

/** An aspect ratio the image APIs accept, nearest to width:height. */
export function aspectRatio(width: number, height: number): string {
  const options: [string, number][] = [['1:1', 1], ['3:4', 3 / 4], ['4:3', 4 / 3], ['2:3', 2 / 3], ['3:2', 3 / 2], ['9:16', 9 / 16], ['16:9', 16 / 9], ['4:5', 4 / 5], ['5:4', 5 / 4]];
  const r = width / height;
  return options.reduce((best, o) => (Math.abs(Math.log(o[1] / r)) < Math.abs(Math.log(best[1] / r)) ? o : best))[0];
}

export function backdropPrompt(o: { template: string; variant: number; productHint: string; width: number; height: number }): string {
  const styles = STYLE[o.template] ?? STYLE.clean!;
  const style = styles[(Math.max(1, o.variant) - 1) % styles.length]!;
  // The seller's words only hint at the setting; cut short and stripped of anything that
  // could read as an instruction boundary.
  const hint = o.productHint.replace(/[\u0000-\u001f"`<>{}]/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 80);
  return [
    `Photograph of an empty backdrop scene for a marketplace product photo, ${aspectRatio(o.width, o.height)} portrait.`,
    `Scene: ${style}.`,
    hint ? `It will later hold this product (do NOT draw it): "${hint}". Choose surroundings that suit it.` : '',
    'Leave the lower middle of the frame empty: a clear flat surface where a product will be placed later.',
    'Strictly no product, no objects in the foreground centre, no people, no hands.',
    'Strictly no text, letters, numbers, logos, labels, signs or watermarks anywhere.',
    'Photorealistic, soft natural shadows, shallow depth of field, high detail.',
  ].filter(Boolean).join(' ');
}
