// Writes src/cards/fonts/coverage.json: the code points each shipped font draws, as
// [first, last] ranges, read from the font's cmap by fontconfig's fc-query. The renderer
// refuses characters outside these ranges up front, so a card never shows a tofu box.
// Re-run after changing a font:  node scripts/font-coverage.mjs
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const dir = new URL('../src/cards/fonts/', import.meta.url);
const fonts = { regular: 'DejaVuSans.ttf', bold: 'DejaVuSans-Bold.ttf' };
const out = {};
for (const [id, file] of Object.entries(fonts)) {
  const charset = execFileSync('fc-query', ['--format', '%{charset}', new URL(file, dir).pathname], { encoding: 'utf8' });
  out[id] = charset.trim().split(/\s+/).map((r) => {
    const [a, b = a] = r.split('-').map((h) => parseInt(h, 16));
    return [a, b];
  });
}
writeFileSync(new URL('coverage.json', dir), JSON.stringify(out) + '\n');
