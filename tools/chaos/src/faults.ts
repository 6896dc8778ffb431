import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { SERVICE_NAMES, type RunningPlatform, type ServiceName, type SupervisorEvent } from '@llmgov/platform';

const exec = promisify(execFile);

/** What a fault needs from the run. */
export interface FaultContext {
  platform: RunningPlatform;
  repoRoot: string;
  /** The file the services' test-only vector-store delay reads (VECTOR_STORE_FAULT_DELAY_FILE). */
  vectorDelayFile: string;
  /** How long a timed fault (outage, engine errors, slow store) lasts, in ms. */
  faultMs: number;
  progress(line: string): void;
}

/** When the fault started and ended (epoch ms), and what happened meanwhile. */
export interface FaultWindow {
  startMs: number;
  endMs: number;
  details: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  description: string;
  inject(ctx: FaultContext): Promise<FaultWindow>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGKILLs one service and resolves with the kill time (epoch ms) and the seconds until the supervisor reports it ready again. @throws on a crash loop. */
async function killAndAwaitRestart(ctx: FaultContext, name: ServiceName): Promise<{ killedAtMs: number; restartS: number }> {
  const p = ctx.platform.services.get(name);
  if (!p) throw new Error(`service ${name} is not running in this platform`);
  const back = new Promise<void>((resolve, reject) => {
    const listener = (e: SupervisorEvent) => {
      if (e.kind === 'ready' || e.kind === 'crash-loop') {
        p.off('supervisor', listener);
        if (e.kind === 'ready') resolve();
        else reject(new Error(`${name}: ${e.message}`));
      }
    };
    p.on('supervisor', listener);
  });
  const t0 = Date.now();
  ctx.progress(`SIGKILL ${name} (pid ${p.child.pid})`);
  p.child.kill('SIGKILL');
  await back;
  const s = (Date.now() - t0) / 1000;
  ctx.progress(`${name} ready again after ${s.toFixed(1)} s`);
  return { killedAtMs: t0, restartS: s };
}

function sigkill(names: readonly ServiceName[], scenarioName: string): Scenario {
  return {
    name: scenarioName,
    description: `SIGKILL ${names.length === 1 ? names[0] : 'each service in turn (the next once the last is ready again)'} mid-stream; the supervisor restarts it`,
    // The fault is the kill itself: it ends at the (last) kill, and the restart time is part of the recovery.
    async inject(ctx) {
      const startMs = Date.now();
      let lastKillMs = startMs;
      const restartSeconds: Record<string, number> = {};
      for (const n of names) {
        const k = await killAndAwaitRestart(ctx, n);
        restartSeconds[n] = k.restartS;
        lastKillMs = k.killedAtMs;
      }
      return { startMs, endMs: lastKillMs, details: { restart_seconds: restartSeconds } };
    },
  };
}

/** Stops one local-stack component for `faultMs` (or, for Kafka, a plain restart) with infra/local's own scripts. */
function stackOutage(component: 'kafka' | 'postgres' | 'redis', restartOnly: boolean): Scenario {
  return {
    name: component,
    description: restartOnly ? `${component} broker restart (infra/local down.sh, then up.sh)` : `${component} down for the fault duration, then started again`,
    async inject(ctx) {
      const script = (s: string) => exec('bash', [path.join(ctx.repoRoot, 'infra/local', s), '--only', component], { cwd: ctx.repoRoot, maxBuffer: 8 << 20 });
      const startMs = Date.now();
      ctx.progress(`stopping ${component}`);
      await script('down.sh');
      const downMs = Date.now();
      if (!restartOnly) await sleep(Math.max(0, ctx.faultMs - (downMs - startMs)));
      ctx.progress(`starting ${component}`);
      // infra/local/up.sh can report "postgres exited during startup" although Postgres came up (a race between
      // `pg_ctl -W` and its pid-file check); a second run finds it running and healthy. Reported for infra/local.
      for (let attempt = 1; ; attempt++) {
        try {
          await script('up.sh');
          break;
        } catch (err) {
          if (attempt >= 3) throw err;
          ctx.progress(`up.sh --only ${component} failed (attempt ${attempt}): ${(err as Error).message.split('\n').slice(-2).join(' ')}; retrying`);
        }
      }
      const endMs = Date.now();
      ctx.progress(`${component} healthy again`);
      return { startMs, endMs, details: { down_s: (endMs - startMs) / 1000 } };
    },
  };
}

async function simFaults(url: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${url}/_sim/faults answered ${res.status}: ${await res.text()}`);
}

async function simStats(url: string): Promise<{ failed_injected: number; hung: number }> {
  return (await (await fetch(`${url}/_sim/stats`)).json()) as { failed_injected: number; hung: number };
}

/** Tier S carries most of the load (min_quality 0.5 routes there), so its engine is the one that fails. */
function engineFault(kind: '500' | 'hang'): Scenario {
  return {
    name: `engine-${kind}`,
    description: kind === '500' ? 'the tier-S engine answers 500 to every generation request' : 'the tier-S engine accepts requests and never answers (hung)',
    async inject(ctx) {
      const engine = ctx.platform.engines.find((e) => e.name === 'vllm-sim-s');
      if (!engine) throw new Error('engine-* scenarios need the local engines (vllm-sim-s)');
      const before = await simStats(engine.url);
      const startMs = Date.now();
      await simFaults(engine.url, kind === '500' ? { fail_rate: 1, fail_status: 500 } : { hang: true });
      ctx.progress(`vllm-sim-s: ${kind === '500' ? 'answering 500' : 'hung'}`);
      await sleep(ctx.faultMs);
      // Lifting `hang` answers the held requests 503 (see tools/vllm-sim README).
      await simFaults(engine.url, kind === '500' ? { fail_rate: 0 } : { hang: false });
      const endMs = Date.now();
      ctx.progress('vllm-sim-s: healthy again');
      const after = await simStats(engine.url);
      return { startMs, endMs, details: { injected_failures: after.failed_injected - before.failed_injected, hung_requests: after.hung - before.hung } };
    },
  };
}

const vectorSlow: Scenario = {
  name: 'vector-slow',
  description: 'every vector-store search and upsert 500 ms slower (test-only delay in the adapter)',
  async inject(ctx) {
    const startMs = Date.now();
    await writeFile(ctx.vectorDelayFile, '500\n');
    ctx.progress('vector store: +500 ms');
    await sleep(ctx.faultMs);
    await writeFile(ctx.vectorDelayFile, '0\n');
    ctx.progress('vector store: back to normal');
    return { startMs, endMs: Date.now(), details: { delay_ms: 500 } };
  },
};

/** Every scenario by name, in the order the full suite runs them. `sigkill-<service>` kills only that service. */
export const SCENARIOS: readonly Scenario[] = [
  sigkill(SERVICE_NAMES, 'sigkill'),
  stackOutage('kafka', true),
  stackOutage('postgres', false),
  stackOutage('redis', false),
  engineFault('500'),
  engineFault('hang'),
  vectorSlow,
];

/** Looks a scenario up by name (including `sigkill-<service>`). @throws Error listing the known names. */
export function scenarioByName(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (found) return found;
  const svc = name.startsWith('sigkill-') ? name.slice('sigkill-'.length) : '';
  if ((SERVICE_NAMES as readonly string[]).includes(svc)) return sigkill([svc as ServiceName], name);
  throw new Error(`unknown scenario "${name}"; known: ${[...SCENARIOS.map((s) => s.name), ...SERVICE_NAMES.map((s) => `sigkill-${s}`)].join(', ')}`);
}
