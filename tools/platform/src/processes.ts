import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { EventEmitter, once } from 'node:events';
import { ExponentialBackoff, halfJitterGenerator, type IBackoff } from 'cockatiel';

/**
 * What the supervisor does when a child exits without being asked to (a crash, an OOM kill, a SIGKILL from
 * outside). Modelled on Kubernetes' `restartPolicy: Always` with its CrashLoopBackOff: restart after an
 * exponentially growing delay, and give up (state `crash-loop`) when restarts come too fast.
 */
export interface RestartPolicy {
  /** Delay before the first restart, in ms. Default 250. */
  initialDelayMs?: number;
  /** Cap on the delay between restarts, in ms. Default 10 000 (Kubernetes caps at 5 min; a local run wants less). */
  maxDelayMs?: number;
  /** More than this many restarts within `windowMs` is a crash loop: the supervisor stops restarting. Default 5. */
  maxRestarts?: number;
  /** Sliding window for `maxRestarts`, in ms; the backoff starts again from `initialDelayMs` once a window passes without a restart. Default 60 000. */
  windowMs?: number;
}

/** `starting` (first start), `running` (ready), `backoff` (waiting to restart or restarting), `crash-loop` (gave up), `exited` (died, no restart policy), `stopped` (deliberately). */
export type ProcessState = 'starting' | 'running' | 'backoff' | 'crash-loop' | 'exited' | 'stopped';

/** One thing the supervisor did or saw, also appended to the process's log file as a `[supervisor]` line. */
export interface SupervisorEvent {
  kind: 'exited' | 'restarting' | 'ready' | 'start-failed' | 'crash-loop';
  name: string;
  /** Restarts so far (including the one announced by `restarting`). */
  restarts: number;
  pid?: number | undefined;
  code?: number | null;
  signal?: NodeJS.Signals | null;
  /** For `restarting`: the backoff delay before the new child is spawned, in ms. */
  delayMs?: number;
  message: string;
}

/** A child process of the platform (a service or a local engine) with its log file, kept running by a supervisor. */
export interface ManagedProcess {
  readonly name: string;
  /** `http://127.0.0.1:<port>`; the same across restarts. */
  readonly url: string;
  /** The current child (a new object after each restart). */
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Restarts after unexpected exits so far. */
  readonly restarts: number;
  readonly state: ProcessState;
  /** From now on an exit is not restarted (called on every process before an orderly shutdown stops them one group at a time). */
  unsupervise(): void;
  /** Stops the process deliberately (SIGTERM, then SIGKILL after `timeoutMs`, default 15 s); it is not restarted. */
  stop(timeoutMs?: number): Promise<void>;
  on(event: 'supervisor', listener: (e: SupervisorEvent) => void): this;
  off(event: 'supervisor', listener: (e: SupervisorEvent) => void): this;
}

export interface SpawnOptions {
  name: string;
  /** Executable to run the script with; default the current node binary. */
  command?: string;
  /** Script (first argument of `command`). */
  script: string;
  args?: string[];
  env: Record<string, string | undefined>;
  port: number;
  logDir: string;
  /** Path answering 200 when ready, e.g. `/health/ready`. */
  readyPath: string;
  readyTimeoutMs?: number;
  /** Restart after an unexpected exit (default: no restart, the child just exits). */
  restart?: RestartPolicy | false;
  /** Called for every supervisor event (also emitted as `'supervisor'` on the returned process). */
  onEvent?: (e: SupervisorEvent) => void;
  /**
   * Run the child in its own process group, so that a terminal's Ctrl-C reaches only the supervisor, which then
   * stops the children in its own order (services drain before the engines they call go away). Default false.
   */
  ownProcessGroup?: boolean;
}

const exitedAlready = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

/**
 * Children still running. When this process exits (process.exit, end of the event loop) they are SIGKILLed, so that
 * none outlives its supervisor; an orderly shutdown stops them before that with stop().
 */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => liveChildren.forEach((c) => c.kill('SIGKILL')));
    // A signal's default action kills this process without running 'exit' listeners, which would orphan the children.
    // So keep the default (exit) but through process.exit, unless the program handles the signal itself (then this
    // listener is not the only one and does nothing; e.g. `platform up` drains on SIGINT).
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
      ['SIGHUP', 129],
    ] as const) {
      process.on(signal, () => {
        if (process.listenerCount(signal) === 1) process.exit(code);
      });
    }
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

class SupervisedProcess extends EventEmitter implements ManagedProcess {
  readonly url: string;
  readonly logFile: string;
  restarts = 0;
  state: ProcessState = 'starting';
  child!: ChildProcess;
  private readonly log: WriteStream;
  private stopping = false;
  private restartTimes: number[] = [];
  private backoff: IBackoff<unknown> | undefined;
  private readonly backoffFactory: ExponentialBackoff<number> | undefined;
  private readonly policy: Required<RestartPolicy> | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(private readonly opts: SpawnOptions) {
    super();
    mkdirSync(opts.logDir, { recursive: true });
    this.logFile = path.join(opts.logDir, `${opts.name}.log`);
    this.log = createWriteStream(this.logFile, { flags: 'a' });
    this.url = `http://127.0.0.1:${opts.port}`;
    if (opts.restart) {
      this.policy = { initialDelayMs: 250, maxDelayMs: 10_000, maxRestarts: 5, windowMs: 60_000, ...opts.restart };
      this.backoffFactory = new ExponentialBackoff({
        generator: halfJitterGenerator,
        initialDelay: this.policy.initialDelayMs,
        maxDelay: this.policy.maxDelayMs,
      });
    }
    if (opts.onEvent) this.on('supervisor', opts.onEvent);
  }

  get name(): string {
    return this.opts.name;
  }

  private emitEvent(e: Omit<SupervisorEvent, 'name' | 'restarts'>): void {
    const event: SupervisorEvent = { name: this.name, restarts: this.restarts, ...e };
    this.log.write(`[supervisor] ${new Date().toISOString()} ${event.kind}: ${event.message}\n`);
    this.emit('supervisor', event);
  }

  /** Spawns a child and waits until it answers its ready path. @throws Error naming the log file when it exits or is not ready in time. */
  async start(): Promise<void> {
    const child = spawn(this.opts.command ?? process.execPath, [this.opts.script, ...(this.opts.args ?? [])], {
      env: { ...process.env, ...this.opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.opts.ownProcessGroup ?? false,
    });
    this.child = child;
    track(child);
    // end: false, so that the log stream outlives this child and takes the next one's output.
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    const timeoutMs = this.opts.readyTimeoutMs ?? 60_000;
    // Polling is the only readiness signal a separate process offers here; it stops early when the child exits.
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      if (exitedAlready(child))
        throw new Error(
          `${this.name} exited with ${child.exitCode !== null ? `code ${child.exitCode}` : child.signalCode} during start-up; see ${this.logFile}`,
        );
      if (this.stopping) throw new Error(`${this.name} was stopped during start-up`);
      try {
        const res = await fetch(`${this.url}${this.opts.readyPath}`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) {
          this.state = 'running';
          child.once('exit', (code, signal) => this.onExit(child, code, signal));
          if (exitedAlready(child)) this.onExit(child, child.exitCode, child.signalCode);
          return;
        }
        lastError = `${res.status} ${(await res.text()).slice(0, 300)}`;
      } catch (err) {
        lastError = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    child.kill('SIGKILL');
    throw new Error(`${this.name} was not ready within ${timeoutMs} ms (last answer: ${lastError}); see ${this.logFile}`);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child || this.stopping) return;
    const how = code !== null ? `code ${code}` : `signal ${signal}`;
    if (!this.policy) {
      this.state = 'exited';
      this.emitEvent({ kind: 'exited', pid: child.pid, code, signal, message: `pid ${child.pid} exited unexpectedly with ${how}; no restart policy` });
      return;
    }
    this.emitEvent({ kind: 'exited', pid: child.pid, code, signal, message: `pid ${child.pid} exited unexpectedly with ${how}` });
    void this.restartLoop();
  }

  /** Restarts with backoff until a child is ready again, the restart budget is spent (crash loop) or stop() is called. */
  private async restartLoop(): Promise<void> {
    const policy = this.policy!;
    this.state = 'backoff';
    for (;;) {
      const now = Date.now();
      this.restartTimes = this.restartTimes.filter((t) => now - t < policy.windowMs);
      if (this.restartTimes.length === 0) this.backoff = undefined;
      if (this.restartTimes.length >= policy.maxRestarts) {
        this.state = 'crash-loop';
        this.emitEvent({
          kind: 'crash-loop',
          message: `${this.restartTimes.length} restarts within ${policy.windowMs} ms; not restarting any more (see ${this.logFile})`,
        });
        return;
      }
      this.backoff = this.backoff ? this.backoff.next(undefined) : this.backoffFactory!.next();
      // Half jitter: restart n waits a random time in [d/2, d) with d = initialDelayMs * 2^(n-1), capped at maxDelayMs.
      const delayMs = Math.round(this.backoff.duration);
      this.restarts++;
      this.restartTimes.push(now);
      this.emitEvent({ kind: 'restarting', delayMs, message: `restart ${this.restarts} in ${delayMs} ms` });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
      if (this.stopping) return;
      try {
        await this.start();
        this.emitEvent({ kind: 'ready', pid: this.child.pid, message: `pid ${this.child.pid} ready again on ${this.url} after ${this.restarts} restart(s)` });
        return;
      } catch (err) {
        if (this.stopping) return;
        this.emitEvent({ kind: 'start-failed', pid: this.child.pid, message: (err as Error).message });
      }
    }
  }

  unsupervise(): void {
    this.stopping = true;
    this.wakeUp?.();
  }

  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    const child = this.child;
    if (!exitedAlready(child)) {
      const exit = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exit;
      clearTimeout(timer);
    }
    this.state = 'stopped';
    await new Promise<void>((resolve) => this.log.end(resolve));
  }
}

/**
 * Spawns `node script` (or `command script`) with its output appended to `<logDir>/<name>.log`, then waits until
 * `GET http://127.0.0.1:<port><readyPath>` answers 200. With `restart`, a child that later exits without
 * `stop()` is restarted on the same port with exponential backoff (see {@link RestartPolicy}); each restart is
 * counted (`restarts`), logged to the log file and reported through `onEvent` / the `'supervisor'` event.
 * @throws Error naming the log file when the first start exits or is not ready within `readyTimeoutMs` (default 60 s).
 */
export async function spawnManaged(opts: SpawnOptions): Promise<ManagedProcess> {
  const p = new SupervisedProcess(opts);
  try {
    await p.start();
  } catch (err) {
    await p.stop(1000);
    throw err;
  }
  return p;
}
