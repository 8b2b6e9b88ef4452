// A worker process: builds one system's worker, starts it on {"go"}, reports progress,
// stops on {"stop"} and answers with its figures (latencies, CPU, peak RSS).
import { readFileSync } from 'node:fs';
import { nowMs, onParentMessage, sleep, toParent } from './lib.ts';
import { loadSystem } from './systems/index.ts';
import type { BenchJob, Ctx } from './systems/types.ts';

const args = JSON.parse(process.env.BENCH_ARGS!) as { system: string; ctx: Ctx; concurrency: number };
const sys = await loadSystem(args.system);

let count = 0;
let firstAt = 0;
let lastAt = 0;
const latencies: number[] = [];
let progressTimer: NodeJS.Timeout | null = null;

const w = await sys.worker(args.ctx, args.concurrency, async (job: BenchJob) => {
  const t = nowMs();
  if (!firstAt) firstAt = t;
  if (job.t) latencies.push(t - job.t);
  if (job.ms) await sleep(job.ms);
  count++;
  lastAt = nowMs();
  progressTimer ??= setTimeout(() => { progressTimer = null; toParent({ p: count }); }, 5);
});

// Syscall counts from /proc (Linux): socket writes are a Postgres queue's main worker cost.
const io = () => {
  try {
    const t = readFileSync('/proc/self/io', 'utf8');
    return { r: Number(/syscr: (\d+)/.exec(t)![1]), w: Number(/syscw: (\d+)/.exec(t)![1]) };
  } catch { return { r: 0, w: 0 }; }
};
let cpu0 = process.cpuUsage();
let io0 = io();
onParentMessage(async (m) => {
  if (m.go) {
    cpu0 = process.cpuUsage();
    io0 = io();
    await w.start();
    toParent({ started: true });
  } else if (m.stop) {
    const cpu = process.cpuUsage(cpu0);
    const io1 = io();
    await w.stop().catch((e) => process.stderr.write(`stop failed: ${e}\n`));
    toParent({ stopped: true, count, firstAt, lastAt, latencies, cpuMs: (cpu.user + cpu.system) / 1000,
      syscalls: { reads: io1.r - io0.r, writes: io1.w - io0.w },
      maxRssMb: process.resourceUsage().maxRSS / 1024 });
    process.exit(0);
  }
});
toParent({ ready: true });
