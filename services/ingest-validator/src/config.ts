import { z } from 'zod';
import { ConfigError, intFromEnv, loadPlatformConfig } from '@llmgov/config';

/** The development keys, the default of `API_KEYS`: public in this repository, so accepted in local mode only. */
export const DEV_API_KEYS: ReadonlyMap<string, string> = new Map([
  ['dev-key-tenant-a', 'tenant-a'],
  ['dev-key-tenant-b', 'tenant-b'],
]);

/**
 * ingest-validator settings.
 * - `PLATFORM_MODE`: `local` (a developer machine, the demo, the tests: tools/platform's startPlatform sets it) or
 *   `production` (the default, so a deployment that forgets it is safe).
 * - `API_KEYS`: `tenant=key[,tenant=key...]`; each key authenticates exactly one tenant. Tenants named here are
 *   also the only tenants accepted on the raw Kafka topics. Defaults to the development keys (DEV_API_KEYS),
 *   which are refused outside `PLATFORM_MODE=local`.
 * - `MAX_BODY_BYTES`: HTTP body limit (bytes); larger bodies get 413.
 * - `MAX_DOCUMENT_CHARS`, `MAX_PROMPT_CHARS`: semantic size limits (UTF-16 code units after normalisation).
 * - `INJECTION_REJECT_SCORE`: prompts scoring at or above this (0..1) are rejected as prompt injection.
 * - `ALLOWED_LANGUAGES`: ISO 639-1 codes accepted for documents (comma-separated).
 * - `SUBMIT_PUBLISH_TIMEOUT_MS`: `POST /v1/jobs` answers 503 when Kafka has not acknowledged the job within this long.
 * - `JOB_EXPIRY_GRACE_MS`: a job still non-final this long after its deadline is expired by the sweeper.
 * - `JOB_SWEEP_INTERVAL_MS`: how often the expiry sweeper runs.
 */
export const ingestEnv = {
  PLATFORM_MODE: z.enum(['local', 'production']).default('production'),
  API_KEYS: z
    .string()
    .min(1)
    .transform((s, ctx) => {
      const map = new Map<string, string>();
      for (const pair of s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const [tenant, key] = pair.split('=');
        if (!tenant || !key || key.length < 8) {
          ctx.addIssue({ code: 'custom', message: `entry "${tenant ?? ''}=..." must be tenant=key with a key of 8+ characters` });
          return z.NEVER;
        }
        map.set(key, tenant);
      }
      return map;
    })
    .default(() => new Map(DEV_API_KEYS)),
  MAX_BODY_BYTES: intFromEnv(1024, 64 * 1024 * 1024).default(1024 * 1024),
  MAX_DOCUMENT_CHARS: intFromEnv(1, 10_000_000).default(200_000),
  MAX_PROMPT_CHARS: intFromEnv(1, 1_000_000).default(8_000),
  INJECTION_REJECT_SCORE: z.coerce.number().min(0).max(1).default(0.75),
  SUBMIT_PUBLISH_TIMEOUT_MS: intFromEnv(100, 120_000).default(5_000),
  JOB_EXPIRY_GRACE_MS: intFromEnv(0, 86_400_000).default(60_000),
  JOB_SWEEP_INTERVAL_MS: intFromEnv(50, 3_600_000).default(10_000),
  ALLOWED_LANGUAGES: z
    .string()
    .default('en')
    .transform(
      (s) =>
        new Set(
          s
            .split(',')
            .map((l) => l.trim().toLowerCase())
            .filter(Boolean),
        ),
    ),
};

export const INGEST_CONFIG = Symbol('INGEST_CONFIG');

/**
 * Loads and checks the ingest-validator settings.
 * @throws ConfigError listing every invalid variable; naming `API_KEYS` when a development key (or the default,
 *   which is the development keys) is in force outside `PLATFORM_MODE=local`.
 */
export function loadIngestConfig(env: Record<string, string | undefined> = process.env) {
  const config = loadPlatformConfig(ingestEnv, env);
  if (config.PLATFORM_MODE !== 'local') {
    const devKeys = [...config.API_KEYS.keys()].filter((k) => DEV_API_KEYS.has(k));
    if (devKeys.length > 0) {
      throw new ConfigError([
        {
          variable: 'API_KEYS',
          problem: `${env.API_KEYS ? 'contains' : 'is not set, so it defaults to'} the development key(s) ${devKeys.join(', ')}, which are only accepted with PLATFORM_MODE=local; set API_KEYS to tenant=key pairs with secret keys`,
        },
      ]);
    }
  }
  return config;
}
export type IngestConfig = ReturnType<typeof loadIngestConfig>;
