// The app (HTTP only: no bot, no worker) in its own process, its event loop measured
// with perf_hooks, so what the hostile tests measure is the server's loop, not the test
// client building and sending its payloads. Prints {"listening": port} once up, and
// {"loop": {maxMs, p99Ms}} on SIGUSR2 (since the previous report).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startApp } from '../../src/main.ts';

const app = await startApp(loadConfig(process.env), createLogger({ level: 'silent' }), { bot: false, worker: false });
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
process.on('SIGUSR2', () => {
  console.log(JSON.stringify({ loop: { maxMs: loop.max / 1e6, p99Ms: loop.percentile(99) / 1e6 } }));
  loop.reset();
});
process.on('SIGTERM', () => { void app.stop().then(() => process.exit(0)); });
console.log(JSON.stringify({ listening: app.port }));
