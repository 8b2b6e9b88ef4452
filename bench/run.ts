// npm run bench [-- --quick] [--json] [--runs N] [--only throughput,latency,render,cutout,inflight,...] [--systems neurocards,raw,...] [--prof]
// --prof writes a V8 CPU profile of every worker process to bench/results/prof/.
// Installs bench/'s own dependencies (the peers) on first use, then runs every scenario
// and prints a table per scenario (or, with --json, one JSON line per scenario).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BENCH, ROOT } from './lib.ts';

const PEERS = ['pg-boss', 'graphile-worker', 'bullmq', 'ioredis', 'pg'];
if (PEERS.some((p) => !existsSync(`${BENCH}node_modules/${p}/package.json`))) {
  process.stderr.write('bench: installing the peers into bench/node_modules (npm install --prefix bench)\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--prefix', 'bench', '--no-audit', '--no-fund', '--engine-strict=false'],
    { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) { process.stderr.write('bench: npm install --prefix bench failed\n'); process.exit(1); }
}

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
    only: { type: 'string' },
    systems: { type: 'string' },
    prof: { type: 'boolean', default: false },
  },
});
const { runScenarios } = await import('./scenarios.ts');
await runScenarios({
  json: values.json!, quick: values.quick!, runs: Math.max(1, Number(values.runs)),
  only: values.only?.split(',').map((s) => s.trim()).filter(Boolean),
  systems: values.systems?.split(',').map((s) => s.trim()).filter(Boolean),
  prof: values.prof!,
});
// Some peers' clients keep timers or sockets alive after close.
process.exit(0);
