import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PlatformConfig } from '@llmgov/config';
import { localEngines, type EngineKind, type LocalEngines } from './engines.js';
import { spawnManaged, type ManagedProcess, type RestartPolicy, type SupervisorEvent } from './processes.js';

/** The eight services, in pipeline order. */
export const SERVICE_NAMES = ['ingest-validator', 'embedder', 'indexer', 'router', 'inference-worker', 'judge', 'feedback-labeler', 'cost-attributor'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Repository root (this file is tools/platform/dist/src/platform.js). */
export const repoRoot = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface StartOptions {
  config: PlatformConfig;
  /** First HTTP port of the services; service i listens on basePort + i. Default 18100. */
  basePort?: number;
  logDir?: string;
  /** Extra environment for every service (e.g. LOG_LEVEL, API_KEYS, TENANT_BUDGETS_USD). */
  env?: Record<string, string>;
  /** Start local engines (default true). Set false when POOLS_FILE points at real servers (default pools: infra/pools/local.json). */
  engines?: boolean;
  /**
   * Which local engines: `sim` (default; vllm-sim per tier and the hashing embedder) or `llama` (real models: llama.cpp
   * engines and the embeddings server; see {@link localEngines}). The services get the matching pool file and
   * embeddings settings; `env` can still override them.
   */
  engine?: EngineKind;
  /**
   * Route by the active policy version in Postgres (router `POLICY_ENABLED`). Default false, so that tests and
   * benchmarks on a shared stack are not governed by whatever policy someone activated; `npm start` and the demo turn it on.
   */
  policy?: boolean;
  services?: readonly ServiceName[];
  onStarted?: (p: ManagedProcess) => void;
  /**
   * Restart policy of every process (engines and services): a process that exits without being stopped is
   * restarted on its port with backoff, as Kubernetes would. Default: {@link RestartPolicy}'s defaults; false turns it off.
   */
  restart?: RestartPolicy | false;
  /** Called for every supervisor event (exit, restart, ready again, crash loop). */
  onSupervisorEvent?: (e: SupervisorEvent) => void;
  /** Children in their own process groups, so that Ctrl-C reaches only this process (see SpawnOptions.ownProcessGroup). */
  ownProcessGroup?: boolean;
}

export interface RunningPlatform {
  engines: ManagedProcess[];
  /** The engine set the services were pointed at (its specs also when `engines: false`). */
  engineSet: LocalEngines;
  services: Map<ServiceName, ManagedProcess>;
  /** Restarts per process name after unexpected exits. */
  restarts(): Record<string, number>;
  /** SIGTERM every process (services first, so they drain), SIGKILL after a timeout; none is restarted. */
  stop(): Promise<void>;
}

/** Starts the local engines and the services as child processes and waits until each is ready. */
export async function startPlatform(opts: StartOptions): Promise<RunningPlatform> {
  const root = repoRoot();
  const logDir = opts.logDir ?? path.join(root, '.local', 'logs');
  const basePort = opts.basePort ?? 18100;
  const engines: ManagedProcess[] = [];
  const services = new Map<ServiceName, ManagedProcess>();
  const supervision = {
    restart: opts.restart ?? {},
    ownProcessGroup: opts.ownProcessGroup ?? false,
    ...(opts.onSupervisorEvent ? { onEvent: opts.onSupervisorEvent } : {}),
  };
  const stop = async () => {
    [...services.values(), ...engines].forEach((p) => p.unsupervise());
    await Promise.all([...services.values()].map((s) => s.stop()));
    await Promise.all(engines.map((e) => e.stop()));
  };
  const engineSet = localEngines(opts.engine ?? 'sim', root);
  try {
    if (opts.engines !== false) {
      // allSettled, so that when one fails to start, the others are still known and stopped below.
      const started = await Promise.allSettled(
        engineSet.engines.map((e) =>
          spawnManaged({
            name: e.name,
            ...(e.command ? { command: e.command } : {}),
            script: e.script,
            args: e.args,
            env: {},
            port: e.port,
            logDir,
            readyPath: e.readyPath,
            readyTimeoutMs: e.readyTimeoutMs,
            ...supervision,
          }),
        ),
      );
      for (const r of started) if (r.status === 'fulfilled') engines.push(r.value);
      const failed = started.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      engines.forEach((e) => opts.onStarted?.(e));
    }
    const c = opts.config;
    const env: Record<string, string> = {
      KAFKA_BROKERS: c.KAFKA_BROKERS.join(','),
      SCHEMA_REGISTRY_URL: c.SCHEMA_REGISTRY_URL,
      DATABASE_URL: c.DATABASE_URL,
      REDIS_URL: c.REDIS_URL,
      KAFKA_TOPIC_PREFIX: c.KAFKA_TOPIC_PREFIX,
      VECTOR_STORE_DIR: process.env.VECTOR_STORE_DIR ?? path.join(root, '.local', 'vectors'),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      // Local processes on loopback: ingest-validator accepts its development API keys only in this mode.
      PLATFORM_MODE: 'local',
      ...engineSet.serviceEnv,
      POLICY_ENABLED: opts.policy ? 'true' : 'false',
      ...opts.env,
    };
    const names = opts.services ?? SERVICE_NAMES;
    const results = await Promise.allSettled(
      names.map(async (name) => {
        const port = basePort + SERVICE_NAMES.indexOf(name);
        const p = await spawnManaged({
          name,
          script: path.join(root, 'services', name, 'dist/src/main.js'),
          env: { ...env, HTTP_PORT: String(port) },
          port,
          logDir,
          readyPath: '/health/ready',
          readyTimeoutMs: 90_000,
          ...supervision,
        });
        services.set(name, p);
        opts.onStarted?.(p);
      }),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await stop();
    throw err;
  }
  const restarts = () => Object.fromEntries([...engines, ...services.values()].map((p) => [p.name, p.restarts]));
  return { engines, engineSet, services, stop, restarts };
}
