import { userInfo } from 'node:os';
import { styleText } from 'node:util';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createPgPool, DEFAULT_POLICY_NAMESPACE, GoldenStoreError, migrate, PolicyStoreError, type Pool } from '@llmgov/persistence';
import { PolicyValidationError } from '@llmgov/policy';

/**
 * A command that cannot do what it was asked: printed as `error: message` (and one `  path: message` line per issue),
 * or as `{"error": {code, message, issues}}` on stderr with --json; the process exits with `exitCode` (1).
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly code: string,
    readonly issues: string[] = [],
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The options every command that reads or writes the store takes. */
export interface StoreOptions {
  json?: boolean;
  namespace: string;
}

/** Adds --json and --namespace (env LLMGOV_POLICY_NAMESPACE, default `default`) to a command. */
export function withStoreOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print the result as JSON (errors as JSON on stderr)')
    .addOption(
      new Option('--namespace <name>', 'policy namespace: routers read `default`; tests and experiments use their own')
        .env('LLMGOV_POLICY_NAMESPACE')
        .default(DEFAULT_POLICY_NAMESPACE),
    );
}

/** Who is acting, for the history: env LLMGOV_USER, else the OS user name. */
export function actor(): string {
  if (process.env.LLMGOV_USER) return process.env.LLMGOV_USER;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** A positive integer argument (a version number), for commander. */
export function positiveInt(value: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new InvalidArgumentError('expected a version number (a positive integer)');
  return Number(value);
}

/**
 * Runs `fn` with a Postgres pool on `DATABASE_URL`, after applying pending migrations (idempotent, under the
 * migrations' advisory lock), and closes the pool after.
 * @throws CliError `no_database` when DATABASE_URL is unset; `database_unavailable` when Postgres cannot be reached.
 */
export async function withDatabase<T>(fn: (pool: Pool) => Promise<T>): Promise<T> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new CliError('DATABASE_URL is not set (`npm run llmgov -- ...` sets it from the local stack, .local/stack.env)', 'no_database');
  try {
    await migrate(url);
  } catch (err) {
    throw new CliError(`cannot prepare the database at DATABASE_URL: ${(err as Error).message}`, 'database_unavailable');
  }
  const pool = createPgPool(url, { max: 2 });
  try {
    return await fn(pool);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** Colour for a terminal (none when stdout is not a TTY or NO_COLOR is set). */
export function paint(format: Parameters<typeof styleText>[0], text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return stream.isTTY && !process.env.NO_COLOR ? styleText(format, text) : text;
}

/** Prints a value as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The CliError an error stands for: known errors keep their reason and issues; anything else is `unexpected`. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof PolicyValidationError) return new CliError(`${err.source} is not a valid policy`, 'invalid_policy', err.issues);
  if (err instanceof PolicyStoreError) return new CliError(err.message, err.code);
  if (err instanceof GoldenStoreError) return new CliError(err.message, err.code);
  return new CliError((err as Error)?.message ?? String(err), 'unexpected');
}

/**
 * Parses the command line and runs the command; any error is reported (see {@link CliError}) and sets the exit code.
 * Commander's own usage errors (unknown option, missing argument) exit 1 with its message.
 */
export async function runCli(program: Command, argv = process.argv): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = toCliError(err);
    const json = argv.includes('--json');
    if (json) process.stderr.write(`${JSON.stringify({ error: { code: e.code, message: e.message, issues: e.issues } })}\n`);
    else process.stderr.write(`${paint('red', 'error:', process.stderr)} ${e.message}${e.issues.map((i) => `\n  ${i}`).join('')}\n`);
    process.exitCode = e.exitCode;
  }
}
