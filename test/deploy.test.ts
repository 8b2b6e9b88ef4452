// render.yaml against Render's Blueprint fields, and kept in step with the app's config.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../src/config.ts';

const blueprint = parse(readFileSync(new URL('../render.yaml', import.meta.url), 'utf8'));

// The fields Render's Blueprint spec defines for a service (render.com/docs/blueprint-spec).
const SERVICE_FIELDS = new Set(['type', 'name', 'runtime', 'plan', 'region', 'numInstances', 'scaling', 'buildCommand',
  'startCommand', 'preDeployCommand', 'healthCheckPath', 'maxShutdownDelaySeconds', 'autoDeploy', 'envVars', 'repo',
  'branch', 'rootDir', 'buildFilter', 'disk', 'domains', 'previews', 'pullRequestPreviewsEnabled', 'image',
  'dockerfilePath', 'dockerContext', 'dockerCommand', 'registryCredential', 'autoDeployTrigger', 'ipAllowList']);
const ENV_FIELDS = new Set(['key', 'value', 'sync', 'generateValue', 'fromDatabase', 'fromService', 'fromGroup']);

test('render.yaml: a node web service with health check, pre-deploy migrate and several instances', () => {
  assert.ok(Array.isArray(blueprint.services) && blueprint.services.length === 1);
  const s = blueprint.services[0];
  for (const k of Object.keys(s)) assert.ok(SERVICE_FIELDS.has(k), `unknown service field ${k}`);
  assert.equal(s.type, 'web');
  assert.equal(s.runtime, 'node');
  assert.equal(s.healthCheckPath, '/queue');
  assert.equal(s.numInstances, 2);
  assert.match(s.preDeployCommand, /neurocards migrate/);
  assert.ok(s.buildCommand && s.startCommand);
  assert.ok(Number.isInteger(s.maxShutdownDelaySeconds) && s.maxShutdownDelaySeconds >= 1 && s.maxShutdownDelaySeconds <= 300);
});

test('render.yaml: env vars are valid, secrets are never committed, grace fits in the shutdown delay', () => {
  const s = blueprint.services[0];
  const env = new Map<string, Record<string, unknown>>(s.envVars.map((e: { key: string }) => [e.key, e]));
  for (const e of env.values()) {
    for (const k of Object.keys(e)) assert.ok(ENV_FIELDS.has(k), `unknown env field ${k}`);
    const sources = ['value', 'sync', 'generateValue', 'fromDatabase', 'fromService', 'fromGroup'].filter((k) => k in e);
    assert.equal(sources.length, 1, `${e.key} has exactly one source`);
  }
  for (const secret of ['DATABASE_URL', 'SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY', 'TELEGRAM_BOT_TOKEN', 'OPENROUTER_API_KEY']) {
    assert.equal(env.get(secret)?.sync, false, `${secret} is sync: false`);
  }
  assert.equal(env.get('TELEGRAM_WEBHOOK_SECRET')?.generateValue, true);
  const graceMs = Number(env.get('SHUTDOWN_GRACE_MS')?.value);
  assert.ok(graceMs > 0 && graceMs <= s.maxShutdownDelaySeconds * 1000 - 3000,
    `SHUTDOWN_GRACE_MS ${graceMs} leaves time to hand back jobs before SIGKILL at ${s.maxShutdownDelaySeconds} s`);
  // Every plain value must be one the app accepts.
  const values = Object.fromEntries([...env.values()].filter((e) => 'value' in e).map((e) => [e.key, String(e.value)]));
  assert.doesNotThrow(() => loadConfig(values as NodeJS.ProcessEnv));
});

test('.env.example documents every variable the config reads', () => {
  const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
  const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
  const source = readFileSync(new URL('../src/config.ts', import.meta.url), 'utf8');
  const read = new Set([...source.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]));
  assert.ok(read.size > 10);
  for (const v of read) assert.ok(documented.has(v), `${v} is documented in .env.example`);
});
