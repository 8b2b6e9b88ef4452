// The architecture's import rules (.dependency-cruiser.cjs, issue 14): the queue core
// knows no product face, job kinds do not reach into the bot, cards/ is self-contained,
// telegram/ does not import the worker, no cycles, no orphans. A violation fails npm test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const configPath = join(root, '.dependency-cruiser.cjs');
const cli = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const config = createRequire(import.meta.url)(configPath) as {
  forbidden: { name: string; from: { path?: string | string[] }; to: { path?: string | string[] } }[];
};

function depcruise(cwd: string) {
  const r = spawnSync(process.execPath, [cli, 'src', '--config', configPath, '--output-type', 'err'], { cwd, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('src/ keeps every dependency rule', () => {
  const r = depcruise(root);
  assert.equal(r.status, 0, `dependency rules broken (see .dependency-cruiser.cjs):\n${r.out}`);
  assert.match(r.out, /no dependency violations found \(\d+ modules/);
});

test('every folder a rule names exists, so no rule passes for want of files', () => {
  const paths = config.forbidden.flatMap((r) => [r.from.path, r.to.path].flat()).filter((p): p is string => !!p);
  const dirs = new Set(paths.flatMap((p) => {
    const m = /^\^src\/\(([^)]+)\)\/$/.exec(p) ?? /^\^src\/([a-z-]+)\/$/.exec(p);
    return m ? m[1].split('|') : [];
  }));
  assert.ok(dirs.size >= 8, `folders found in the rules: ${[...dirs].join(', ')}`);
  for (const d of dirs) assert.ok(existsSync(join(root, 'src', d)), `rule names src/${d}/, which does not exist`);
});

// Each rule fires on a violation of its kind: a throwaway src/ tree holding one bad
// import per rule (one depcruise run), and each is reported by its rule's name.
test('each rule catches what it forbids', () => {
  const bad: [rule: string, from: string, to: string][] = [
    ['queue-core-knows-no-product', 'worker/pool.ts', 'bot/index.ts'],
    ['queue-core-knows-no-product', 'db/store.ts', 'cards/render.ts'],
    ['jobs-not-from-bot', 'orders/jobs/render-card.ts', 'bot/i18n/index.ts'],
    ['bot-not-worker', 'bot/maintenance.ts', 'worker/schedule.ts'],
    ['cards-self-contained', 'cards/render.ts', 'log.ts'],
    ['telegram-not-worker', 'telegram/api.ts', 'worker/retry.ts'],
    ['no-circular', 'api/index.ts', 'api/jobs/api-card.ts'],
  ];
  const files = new Map<string, string[]>([
    ['dead.ts', []], // the orphan
    ['api/jobs/api-card.ts', ["import '../index.ts';"]], // closes the cycle
  ]);
  for (const [, from, to] of bad) {
    const rel = relative(dirname(from), to);
    files.set(from, [...(files.get(from) ?? []), `import '${rel.startsWith('.') ? rel : `./${rel}`}';`]);
    if (!files.has(to)) files.set(to, []);
  }
  const dir = mkdtempSync(join(tmpdir(), 'nc-deps-'));
  try {
    cpSync(join(root, 'tsconfig.json'), join(dir, 'tsconfig.json'));
    for (const [name, lines] of files) {
      mkdirSync(dirname(join(dir, 'src', name)), { recursive: true });
      writeFileSync(join(dir, 'src', name), `${[...lines, 'export {};'].join('\n')}\n`);
    }
    const r = depcruise(dir);
    assert.notEqual(r.status, 0, r.out);
    for (const [rule, from, to] of bad) {
      const line = rule === 'no-circular' ? /error no-circular: src\/api\/(index|jobs\/api-card)\.ts → / : `error ${rule}: src/${from} → src/${to}`;
      assert.ok(typeof line === 'string' ? r.out.includes(line) : line.test(r.out), `expected "${line}" in:\n${r.out}`);
    }
    assert.ok(r.out.includes('error no-orphans: src/dead.ts'), r.out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// One route table: a module can declare routes only on a Hono app it makes or is handed,
// so only src/http/routes.ts makes one and only it and the listener (server.ts) take one.
test('HTTP routes are mounted in one place: src/http/routes.ts', () => {
  const files = (readdirSync(join(root, 'src'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
  const makers = files.filter((f) => /\bnew Hono\b/.test(readFileSync(join(root, 'src', f), 'utf8')));
  assert.deepEqual(makers, ['http/routes.ts']);
  const takers = files.filter((f) => /import\s*(type\s*)?\{[^}]*\bHono\b[^}]*\}\s*from\s*'hono'/.test(readFileSync(join(root, 'src', f), 'utf8')));
  assert.deepEqual(takers.sort(), ['http/routes.ts', 'http/server.ts']);
});
