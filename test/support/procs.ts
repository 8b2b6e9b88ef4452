// Spawning app and worker processes for tests, and reading their JSON lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Proc {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first JSON line matching pred. */
  waitForJson<T = Record<string, unknown>>(pred: (o: T) => boolean, ms?: number): Promise<T>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnTs(script: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { pred: (o: any) => boolean; resolve: (o: any) => void }[] = [];
  let buf = '';
  const onData = (chunk: Buffer) => {
    buf += chunk.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      if (process.env.TEST_SHOW_CHILD) process.stderr.write(`[${env.WORKER_ID ?? env.INSTANCE_ID ?? child.pid}] ${line}\n`);
      let obj: unknown;
      try { obj = JSON.parse(line); } catch { continue; }
      for (const w of [...waiters]) if (w.pred(obj)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(obj); }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal })));
  return {
    child, lines, exited,
    waitForJson(pred, ms = 20_000) {
      for (const l of lines) { try { const o = JSON.parse(l); if (pred(o)) return Promise.resolve(o); } catch { /* not JSON */ } }
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching line within ${ms} ms; last lines:\n${lines.slice(-10).join('\n')}`)), ms);
        waiters.push({ pred, resolve: (o) => { clearTimeout(t); resolve(o); } });
      });
    },
  };
}

/** The real CLI: `neurocards <args>`. */
export const spawnCli = (args: string[], env: Record<string, string>) => spawnTs('src/cli.ts', args, env);

/** Runs a CLI command to completion: its exit code and everything it printed. */
export async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const p = spawnCli(args, env);
  const { code } = await p.exited;
  return { code, out: p.lines.join('\n') };
}
