// callback_data of the buttons under a delivered card: sent by the deliver-card job,
// handled by the bot. Shared here so the two sides cannot drift (≤ 64 bytes each).
export const CARD_CALLBACKS = {
  variant: (orderId: number) => `var:${orderId}`,
  newCard: 'new',
} as const;

export const cardKeyboard = (orderId: number, labels: { another: string; newCard: string }) => ({
  inline_keyboard: [[
    { text: labels.another, callback_data: CARD_CALLBACKS.variant(orderId) },
    { text: labels.newCard, callback_data: CARD_CALLBACKS.newCard },
  ]],
});
