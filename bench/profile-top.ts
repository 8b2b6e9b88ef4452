// Summarises a V8 .cpuprofile: self time by function and by file (node bench/profile-top.ts FILE [N]).
import { readFileSync } from 'node:fs';

const [file, nArg] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number }[];
  samples: number[]; timeDeltas: number[];
};
const self = new Map<number, number>();
p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFn = new Map<string, number>(), byFile = new Map<string, number>();
for (const n of p.nodes) {
  const t = self.get(n.id) ?? 0;
  const url = n.callFrame.url.replace(/^file:\/\/.*?node_modules\//, '').replace(/^file:\/\/.*?\/work\/main\//, '');
  const fn = `${n.callFrame.functionName || '(anon)'} ${url}:${n.callFrame.lineNumber + 1}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + t);
  const f = url.split('/').slice(0, url.includes('node_modules') ? 1 : 2).join('/') || n.callFrame.functionName;
  byFile.set(f, (byFile.get(f) ?? 0) + t);
}
const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
  .map(([k, v]) => `${(v / 1000).toFixed(1).padStart(8)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`).join('\n');
console.log(`total ${(total / 1000).toFixed(0)} ms\n-- by function\n${top(byFn, Number(nArg ?? 30))}\n-- by file\n${top(byFile, 15)}`);
