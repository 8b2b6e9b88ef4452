// Config: one message naming every bad variable and how to fix it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';

test('defaults: embedded database, polling-free, documented defaults', () => {
  const c = loadConfig({});
  assert.equal(c.database.mode, 'embedded');
  assert.equal(c.PORT, 3000);
  assert.equal(c.JOB_CONCURRENCY, 25);
  assert.equal(c.LEASE_SECONDS, 30);
  assert.equal(c.webhookUrl, null);
  assert.ok(c.instanceId.length > 0);
});

test('mode selection says why', () => {
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).database.mode, 'direct');
  const rpc = loadConfig({ SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'x'.repeat(40) });
  assert.equal(rpc.database.mode, 'rpc');
  const both = loadConfig({ DATABASE_URL: 'postgres://u@h/db', SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'x'.repeat(40) });
  assert.equal(both.database.mode, 'direct');
  assert.match(both.database.why, /preferred over SUPABASE_URL/);
  assert.equal(loadConfig({ RENDER_EXTERNAL_URL: 'https://nc.onrender.com' }).webhookUrl, 'https://nc.onrender.com/telegram');
});

test('every bad variable is named at once, with how to fix it, and no secret is echoed', () => {
  const secret = 'postgres://user:hunter2@db.example.com:5432/x';
  let err: unknown;
  try {
    loadConfig({
      SUPABASE_URL: 'https://abc.supabase.co', JOB_CONCURRENCY: 'lots', PORT: '70000',
      TELEGRAM_BOT_TOKEN: 'not-a-token', DATABASE_URL: secret.replace('postgres://', 'mysql://'), LEASE_SECONDS: '1',
    });
  } catch (e) { err = e; }
  assert.ok(err instanceof ConfigError);
  const msg = (err as Error).message;
  for (const name of ['JOB_CONCURRENCY', 'PORT', 'TELEGRAM_BOT_TOKEN', 'DATABASE_URL', 'LEASE_SECONDS', 'SUPABASE_SERVICE_ROLE_KEY'])
    assert.match(msg, new RegExp(`- ${name} `), `${name} is named`);
  assert.match(msg, /SUPABASE_SERVICE_ROLE_KEY must be set when SUPABASE_URL is set: copy the service_role key/);
  assert.match(msg, /@BotFather/);
  assert.doesNotMatch(msg, /hunter2/);
  assert.equal((err as ConfigError).problems.length, 6);
});

test('empty values count as unset', () => {
  assert.equal(loadConfig({ DATABASE_URL: '', PORT: '' }).database.mode, 'embedded');
});

test('TELEGRAM_WEBHOOK_SECRET: base64 (Render\'s generateValue) is read in the URL-safe alphabet Telegram accepts', () => {
  const generated = 'lXVO4bHje5XTr5FC79N8MiTk+kmre8ImnYeGppZa/xY='; // 256 bits, as render.yaml gets them
  assert.equal(loadConfig({ TELEGRAM_WEBHOOK_SECRET: generated }).TELEGRAM_WEBHOOK_SECRET, 'lXVO4bHje5XTr5FC79N8MiTk-kmre8ImnYeGppZa_xY');
  assert.equal(loadConfig({ TELEGRAM_WEBHOOK_SECRET: 'plain_secret-1' }).TELEGRAM_WEBHOOK_SECRET, 'plain_secret-1');
  assert.throws(() => loadConfig({ TELEGRAM_WEBHOOK_SECRET: 'has space' }), /TELEGRAM_WEBHOOK_SECRET may only contain/);
});
