import { z } from 'zod';

/** Thrown when environment variables fail validation. `issues` lists every bad variable at once. */
export class ConfigError extends Error {
  constructor(public readonly issues: { variable: string; problem: string }[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i.variable}: ${i.problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates `env` (default `process.env`) against a zod object schema and returns the typed result.
 * Validation runs once, before Nest starts, and reports every invalid variable together.
 * @throws ConfigError listing each variable name and what is wrong with it.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      variable: issue.path.join('.') || '(root)',
      problem: issue.message,
    })),
  );
}

/** A comma-separated list of `host:port` pairs, e.g. `127.0.0.1:19092,127.0.0.1:19093`. */
export const hostPortList = z
  .string()
  .min(1)
  .transform((s) =>
    s
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  )
  .refine((list) => list.every((p) => /^[^\s:]+:\d{1,5}$/.test(p)), 'expected host:port[,host:port...]');

/** An integer parsed from a string, within [min, max]. */
export const intFromEnv = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `true`/`false`/`1`/`0` as a boolean. */
export const boolFromEnv = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
