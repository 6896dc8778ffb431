/**
 * Shared set-up of the llmgov CLI's integration specs: the built CLI run as a child process (as an operator runs it),
 * its exit code and output, and a scratch prompts directory with the repo's templates plus a test template.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadPlatformConfig, type PlatformConfig } from '@llmgov/config';
import { migrate } from '@llmgov/persistence';
import { bootstrapPlatform, startPlatform, type RunningPlatform } from '@llmgov/platform';

/** The repo root (this module compiles to tools/llmgov/dist/test/). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
/** The built CLI's entry point. */
export const cliMain = path.join(repoRoot, 'tools/llmgov/dist/src/main.js');
/** The text of infra/policies/local.yaml. */
export const localPolicyText = () => readFileSync(path.join(repoRoot, 'infra/policies/local.yaml'), 'utf8');

/** What one CLI run returned: its exit code (-1 when it had none: killed, timed out, output over the buffer). */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Set over this process's environment. */
  env?: Record<string, string>;
  /** Kill the run after this many ms (default: never). */
  timeoutMs?: number;
  /** Most bytes of stdout or stderr kept (default: Node's 1 MiB). */
  maxBuffer?: number;
}

/** Runs the built CLI with `args`; resolves (never rejects) with the exit code and output. */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliMain, ...args],
      {
        env: { ...process.env, ...opts.env },
        ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
        ...(opts.maxBuffer === undefined ? {} : { maxBuffer: opts.maxBuffer }),
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/**
 * A runner of the CLI in a policy namespace of the caller's choosing, as `user` (LLMGOV_USER), without colours,
 * killed after 60 s, keeping 16 MiB of output.
 */
export const policyCli =
  (user: string) =>
  (namespace: string, ...args: string[]): Promise<CliRun> =>
    runCli(args, {
      env: { LLMGOV_POLICY_NAMESPACE: namespace, LLMGOV_USER: user, NO_COLOR: '1' },
      timeoutMs: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });

/** The run's stdout as JSON, after asserting it exited 0 (the message carries its stderr). */
export const okJson = <T>(r: CliRun): T => {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};

/**
 * Makes `<dir>/prompts` a copy of infra/prompts plus chat template `name` in each version of `contents` (version →
 * the user message, e.g. `{{question}}`); returns its path.
 */
export function promptsDirWith(dir: string, name: string, contents: Record<number, string>): string {
  const prompts = path.join(dir, 'prompts');
  mkdirSync(prompts);
  cpSync(path.join(repoRoot, 'infra/prompts'), prompts, { recursive: true });
  for (const [version, content] of Object.entries(contents))
    writeFileSync(
      path.join(prompts, `${name}.v${version}.json`),
      JSON.stringify({ name, version: Number(version), api: 'chat', messages: [{ role: 'user', content }] }),
    );
  return prompts;
}

/** The whole platform on the simulator engines, as the CLI specs that need it run it. */
export interface SimPlatform {
  config: PlatformConfig;
  platform: RunningPlatform;
  /** The ingest-validator's base URL (the job and document API). */
  api: string;
  /** A pool on the platform's Postgres (the caller ends it). */
  pool: pg.Pool;
}

/**
 * Bootstraps a Kafka namespace (`prefix`), migrates Postgres and starts every service with the simulator engines and
 * the hashing embedder on ports from `basePort`, deciding by the policy namespace `namespace`, with one tenant and
 * its API key.
 */
export async function startSimPlatform(o: { prefix: string; namespace: string; tenant: string; key: string; basePort: number }): Promise<SimPlatform> {
  const config = { ...loadPlatformConfig(), KAFKA_TOPIC_PREFIX: o.prefix };
  await bootstrapPlatform(config);
  await migrate(config.DATABASE_URL);
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
  const platform = await startPlatform({
    config,
    basePort: o.basePort,
    engine: 'sim',
    policy: true,
    logDir: path.join(repoRoot, '.local', 'logs', 'test'),
    env: { POLICY_NAMESPACE: o.namespace, API_KEYS: `${o.tenant}=${o.key}`, LOG_LEVEL: 'warn' },
  });
  return { config, platform, api: platform.services.get('ingest-validator')!.url, pool };
}
