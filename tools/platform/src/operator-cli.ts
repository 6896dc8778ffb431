import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './platform.js';

/**
 * Runs the operator CLI `llmgov` (its built `tools/llmgov/dist/src/main.js`, with this process's Node) as an operator
 * would, so the demo and the benchmarks change policies and budgets through the same path people do.
 * @returns the command's stdout.
 * @throws Error carrying the CLI's stderr when it exits non-zero.
 */
export async function runLlmgov(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const cli = path.resolve(repoRoot(), 'tools/llmgov/dist/src/main.js');
  try {
    return (await promisify(execFile)(process.execPath, [cli, ...args], { maxBuffer: 16 * 1024 * 1024, env })).stdout;
  } catch (err) {
    throw new Error(`llmgov ${args.join(' ')}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`, { cause: err });
  }
}

export interface ActivatePolicyOptions {
  /** Policy namespace (`llmgov --namespace`); the platform's own is `default`. */
  namespace?: string;
  /** Folder of the prompt template files; default: `../prompts` beside the policy file's folder. */
  promptsDir?: string;
  comment: string;
}

/**
 * Applies a policy file (`llmgov policy apply`): stores it as a new version of the namespace without activating it.
 * @returns the version stored.
 * @throws Error with the CLI's message when the file is invalid or the database cannot be reached.
 */
export async function applyPolicyFile(file: string, opts: ActivatePolicyOptions): Promise<number> {
  const common = opts.namespace ? ['--namespace', opts.namespace] : [];
  const templates = opts.promptsDir ? ['--prompts-dir', opts.promptsDir] : [];
  const applied = JSON.parse(await runLlmgov(['policy', 'apply', file, ...templates, '--comment', opts.comment, '--json', ...common])) as {
    result: { version: number } | null;
  };
  const version = applied.result?.version;
  if (version === undefined) throw new Error(`llmgov policy apply ${file} stored no version`);
  return version;
}

/**
 * Applies a policy file (`llmgov policy apply`) and activates the version it stored (`llmgov policy activate`).
 * @returns the active version.
 * @throws Error with the CLI's message when the file is invalid or the database cannot be reached.
 */
export async function activatePolicyFile(file: string, opts: ActivatePolicyOptions): Promise<number> {
  const version = await applyPolicyFile(file, opts);
  await runLlmgov(['policy', 'activate', String(version), '--json', ...(opts.namespace ? ['--namespace', opts.namespace] : [])]);
  return version;
}
