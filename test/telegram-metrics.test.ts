// Failed Telegram calls are counted by method and code on /metrics (seed 002's API errors).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registry } from '../src/metrics.ts';
import { createTelegramApi } from '../src/telegram/api.ts';
import { startFakeTelegram } from './support/fake-telegram.ts';

test('telegram_api_errors_total counts failed calls by method and code, retries included', async () => {
  const token = '424242:metrics-metrics-metrics-metrics';
  const tg = await startFakeTelegram({ token, requireStart: false });
  try {
    const api = createTelegramApi({ token, apiRoot: tg.apiRoot, throttle: false, maxInlineRetrySeconds: 5, retryServerErrors: false, maxRetryAttempts: 2 });
    tg.user(77, { started: true });
    const value = async (method: string, code: string) =>
      (await registry.getSingleMetric('telegram_api_errors_total')!.get()).values.find((v) => v.labels.method === method && String(v.labels.code) === code)?.value ?? 0;
    const before403 = await value('sendMessage', '403');
    const before429 = await value('sendMessage', '429');
    tg.failNext('sendMessage', { code: 403, description: 'Forbidden: bot was blocked by the user' });
    await assert.rejects(api.sendMessage(77, 'hi'), /403/);
    tg.failNext('sendMessage', { code: 429, retryAfter: 0.1 });
    await api.sendMessage(77, 'hi again'); // auto-retry waits it out: still one 429 counted
    assert.equal(await value('sendMessage', '403'), before403 + 1);
    assert.equal(await value('sendMessage', '429'), before429 + 1);
  } finally {
    await tg.close();
  }
});
