import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';

/** A child process of the platform (a service or a local engine) with its log file. */
export interface ManagedProcess {
  name: string;
  url: string;
  child: ChildProcess;
  logFile: string;
  stop(timeoutMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  /** Script to run with the current node binary. */
  script: string;
  args?: string[];
  env: Record<string, string | undefined>;
  port: number;
  logDir: string;
  /** Path answering 200 when ready, e.g. `/health/ready`. */
  readyPath: string;
  readyTimeoutMs?: number;
}

/**
 * Spawns `node script` with its output appended to `<logDir>/<name>.log`, then waits until
 * `GET http://127.0.0.1:<port><readyPath>` answers 200. Polling is the only signal a separate process
 * offers here; it stops early when the child exits.
 * @throws Error naming the log file when the process exits or is not ready within `readyTimeoutMs` (default 60 s).
 */
export async function spawnManaged(opts: SpawnOptions): Promise<ManagedProcess> {
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = path.join(opts.logDir, `${opts.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [opts.script, ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  let lastError = '';
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`${opts.name} exited with code ${exited} during start-up; see ${logFile}`);
    try {
      const res = await fetch(`${url}${opts.readyPath}`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
      lastError = `${res.status} ${(await res.text()).slice(0, 300)}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (Date.now() >= deadline) {
    child.kill('SIGKILL');
    throw new Error(`${opts.name} was not ready within ${opts.readyTimeoutMs ?? 60_000} ms (last answer: ${lastError}); see ${logFile}`);
  }
  return {
    name: opts.name,
    url,
    child,
    logFile,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exit = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exit;
      clearTimeout(timer);
    },
  };
}
