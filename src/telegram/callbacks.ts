// callback_data of the buttons the card jobs send (the 1/2/3 pick under the variants, and
// "New card" under the set), handled by the bot. Shared here so the two sides cannot
// drift (≤ 64 bytes each).
export const CARD_CALLBACKS = {
  pick: (orderId: number, n: number) => `pick:${orderId}:${n}`,
  pickPattern: /^pick:(\d{1,18}):([1-3])$/,
  newCard: 'new',
} as const;

export const pickKeyboard = (orderId: number) => ({
  inline_keyboard: [[1, 2, 3].map((n) => ({ text: String(n), callback_data: CARD_CALLBACKS.pick(orderId, n) }))],
});

export const cardKeyboard = (labels: { newCard: string }) => ({
  inline_keyboard: [[{ text: labels.newCard, callback_data: CARD_CALLBACKS.newCard }]],
});
