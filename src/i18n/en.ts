// English messages. Every key of the Russian catalog (ru.ts) exists here with the
// same shape; ru.ts is typed by this catalog, so the type check enforces it.
const en = {
  langName: 'English',
  start: (name: string) =>
    `Hi, ${name}! I turn a product photo and a few words into a ready card for Wildberries and Ozon (900×1200 JPEG).\n` +
    `Send me a product photo to start — as a photo or as an image file.`,
  help:
    'How it works: send a product photo (I cut the product out at once) → title → key features → price (optional) → ' +
    'marketplace and template → confirm. You get 3 variants of the main picture: tap 1, 2 or 3, and the set ' +
    '(main picture + infographic slides) arrives as an album plus a zip of full-resolution JPEGs.\n\n' +
    '/start — new card\n/status — orders in progress\n/cancel — cancel an order or the current card\n' +
    '/history — your last 10 cards (re-send any)\n/lang — language\n/help — this help',
  askPhoto: 'Send a product photo (as a photo or a JPEG/PNG/WebP file).',
  askTitle: 'Got the photo 👍 Now the product title, up to 60 characters.',
  cutoutReady: 'Here is your product cut out ✂️ After you confirm it goes on 3 backdrops.',
  framed: (why: string) => `I could not cut the product out reliably (${why}), so this photo will be framed as is.`,
  framedWhy: {
    low_confidence: 'the outline was not certain', cluttered: 'the background is too busy',
    no_product: 'nothing stood out from the background', fills_frame: 'the product fills the whole photo',
    provider_failed: 'the cut-out service did not answer',
  } as Record<string, string>,
  askMarketplace: 'Which marketplace is the set for? Its picture rules are checked before delivery.',
  tapMarketplace: 'Tap Wildberries or Ozon above 👆',
  askNewTitle: 'Send the new title, up to 60 characters.',
  titleEmpty: 'The title cannot be empty. Send the product title, up to 60 characters.',
  titleTooLong: (n: number) => `That is ${n} characters; please keep the title to 60.`,
  unsupportedChars: (chars: string) => `A card cannot show these characters: ${chars}. Emoji are not printed on cards. Please send the text without them.`,
  askFeatures: 'Key features: up to 5, one per line. For example:\nCotton 100%\nSizes 42–56',
  featuresTrimmed: 'Only 5 features fit on a card; I kept the first five.',
  askPrice: 'Price in ₽ (for example 1990), or tap “Skip”.',
  badPrice: 'Send the price as a number, like 1990, or tap “Skip”.',
  chooseTemplate: 'Choose a template (left to right on the picture):',
  tapTemplate: 'Tap one of the template buttons above 👆',
  tapSummary: 'Tap Confirm, Edit or Cancel under the summary above 👆',
  summary: (d: { title: string; features: string[]; price: string | null; template: string; marketplace: string }) =>
    `Your card:\n\nTitle: ${d.title}\nFeatures:\n${d.features.length ? d.features.map((f) => `• ${f}`).join('\n') : '—'}\n` +
    `Price: ${d.price ?? '—'}\nMarketplace: ${d.marketplace}\nTemplate: ${d.template}\n\nAll correct?`,
  editWhat: 'What would you like to change?',
  draftCanceled: 'Canceled. Send a photo whenever you want a new card.',
  queued: (id: number, pos: number, eta: number) =>
    `Order #${id} accepted ✅\nYou are #${pos} in line, about ${eta} s. I will send 3 variants here.`,
  rendering: (id: number) => `Order #${id}: cutting out the product… ✂️`,
  cutoutDone: (id: number) => `Order #${id}: product cut out ✂️ making 3 variants… 🎨`,
  variantsReady: (id: number) => `Order #${id}: 3 variants ready 👇 pick one for the main picture.`,
  makingSet: (id: number, n: number) => `Order #${id}: variant ${n} chosen, making the set… 🧩`,
  sent: (id: number) => `Order #${id}: done ✅ The set is below.`,
  canceledAck: (id: number) => `Order #${id}: canceled.`,
  failedAck: (id: number) => `Order #${id}: failed ❌`,
  badPhoto: (id: number, why: string) => `Order #${id}: I could not use this photo — ${why}. Please send another photo.`,
  photoWhy: {
    empty: 'the file is empty', not_image: 'it is not an image', too_large_bytes: 'the file is too large',
    too_large_pixels: 'the picture is too large', too_small: 'the picture is too small (at least 160 px per side)',
    corrupt: 'the file is damaged', animated: 'it is animated', download: 'Telegram would not let me download it',
  } as Record<string, string>,
  cardCaption: (id: number, title: string) => `#${id} ${title}`,
  variantsCaption: (id: number, title: string) => `#${id} ${title}: variants 1, 2, 3`,
  variantsFramed: (why: string) => `The photo is framed as is: ${why}.`,
  pickPrompt: (id: number) => `Order #${id}: which one becomes the main picture? Tap 1, 2 or 3.`,
  picked: (n: number) => `Variant ${n} — making the set`,
  alreadyChosen: (n: number) => `Already chosen: variant ${n}`,
  notReady: 'The variants are not ready yet.',
  orderClosed: 'This order is closed.',
  setCaption: (id: number, title: string, marketplace: string) => `#${id} ${title} — the set for ${marketplace}`,
  zipCaption: 'Full resolution: every slide as a 900×1200 JPEG in one zip — upload these to the marketplace.',
  setBroken: (id: number) => `Order #${id}: the set broke the marketplace's picture rules, so I did not send it. Please try another photo or template.`,
  alreadyOrdered: (id: number) => `Already ordered: #${id}`,
  outdated: 'This summary is out of date. Send /start to make a new card.',
  limitOpen: (max: number) =>
    `You already have ${max} cards in progress — that is the limit. Wait for one to arrive or /cancel one, then confirm again.`,
  limitDaily: (quota: number) => `You have made ${quota} cards today — the daily limit. It resets at 00:00 UTC. See you tomorrow!`,
  statusNone: 'No orders in progress. Send a photo to make a card.',
  statusHead: 'Orders in progress:',
  statusQueued: (id: number, pos: number, eta: number) => `#${id} — in line, #${pos} (about ${eta} s)`,
  statusRendering: (id: number) => `#${id} — making the card`,
  statusAwaiting: (id: number) => `#${id} — waiting for your pick (1, 2 or 3)`,
  statusRendered: (id: number) => `#${id} — sending`,
  cancelNone: 'There is nothing to cancel.',
  cancelWhich: 'Which order should I cancel?',
  canceled: (id: number) => `Order #${id} canceled. It will not be delivered.`,
  cancelTooLate: (id: number) => `Order #${id} is already finished, nothing to cancel.`,
  historyNone: 'No cards yet. Send a photo to make your first one.',
  historyHead: 'Your last cards — tap one to get it again:',
  resendGone: 'I cannot find this card any more.',
  chooseLang: 'Choose the language:',
  langSet: 'Language: English 🇬🇧',
  sticker: 'Stickers cannot become cards 🙂 Please send a product photo.',
  voice: 'I cannot use voice messages. Please send a product photo, and type the texts.',
  video: 'I need a still photo, not a video. Please send a product photo.',
  photoRejected: (why: string) => `I cannot use this file — ${why}. Please send a product photo (JPEG, PNG or WebP).`,
  notImage: 'This file is not an image I can use. Send a photo, or a JPEG, PNG or WebP file.',
  tooBig: (mb: number, max: number) =>
    `This file is ${mb} MB, but bots can download at most ${max} MB. Send it as a photo (Telegram compresses it) or a smaller file.`,
  otherContent: 'Please send a product photo, or /help.',
  newCard: '🆕 New card',
  btnConfirm: '✅ Confirm',
  btnEdit: '✏️ Edit',
  btnCancel: '✖️ Cancel',
  btnSkip: 'Skip',
  btnTitle: 'Title',
  btnFeatures: 'Features',
  btnPrice: 'Price',
  btnTemplate: 'Template',
  btnMarketplace: 'Marketplace',
  btnPhoto: 'Photo',
  btnBack: '← Back',
  notYours: 'This is not your order.',
  stats: (s: Record<string, string | number | null>) =>
    `Queue: queued ${s.queued}, running ${s.running}, scheduled ${s.scheduled}, dead ${s.dead}\n` +
    `Workers: ${s.workers}, oldest queued ${s.oldest} s\n24 h: ${s.succeeded} succeeded, ${s.failed} failed, avg ${s.avg} s, p95 ${s.p95} s\n` +
    `Orders today: ${s.today} (${s.sent} sent, ${s.open} open, ${s.failedOrders} failed, ${s.undeliverable} undeliverable), ` +
    `${s.users} users; render avg ${s.renderMs} ms; delivered p50 ${s.p50} s, p95 ${s.p95d} s`,
  statsAi: (s: { total: string; orders: number; avg: string; calls: number }) =>
    `AI cost (reported by the provider): ${s.total} total, ${s.orders} orders, ${s.avg} per order, ${s.calls} paid calls`,
  error: 'Something went wrong on my side. Please try again in a minute.',
  commands: {
    start: 'New card', status: 'Orders in progress', cancel: 'Cancel an order', history: 'Last cards',
    help: 'Help', lang: 'Language',
  },
};
export default en;
