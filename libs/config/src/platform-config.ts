import { z } from 'zod';
import { boolFromEnv, hostPortList, intFromEnv, loadConfig } from './load-config.js';

/**
 * Settings every service shares. Defaults match `infra/local/up.sh` (loopback ports 19092, 18081, 15432, 16379).
 * - `KAFKA_BROKERS`: bootstrap brokers, `host:port[,host:port]`.
 * - `SCHEMA_REGISTRY_URL`: Confluent-compatible registry base URL.
 * - `DATABASE_URL`, `REDIS_URL`: connection strings.
 * - `HTTP_PORT`: port of the service's HTTP server (health, readiness, metrics; APIs where a service has them).
 * - `KAFKA_RETRY_INITIAL_MS` / `KAFKA_RETRY_MAX_MS` / `KAFKA_HANDLER_MAX_ATTEMPTS`: in-process retry of retriable
 *   handler errors (kafkajs' defaults: start 300 ms, x2, ±20 % jitter, cap 30 s) before the record goes to `<topic>.dlq`.
 * - `KAFKA_HANDLER_CONCURRENCY`: records in flight at once per consumer (all its partitions); same-key records run in order.
 * - `KAFKA_SESSION_TIMEOUT_MS`: consumer session timeout; a crashed member's partitions move after this long (broker
 *   minimum 6 s). Heartbeats every third of it, at most every 3 s.
 * - `KAFKA_GROUP_ID`: consumer group id base (default: the service name); handler groups append `.<suffix>`.
 * - `KAFKA_TOPIC_PREFIX`: a namespace for benchmarks and probes (default empty: the live platform). Every topic the
 *   Kafka runtime produces to or consumes (DLQs included) and every consumer group id it uses gets this prefix, e.g.
 *   `bench.20250101a.`; schema subjects stay the catalog's. Kafka's topic characters only: `[A-Za-z0-9._-]`.
 * - `DLQ_AUTO_REDRIVE` (default true) / `DLQ_AUTO_REDRIVE_HEALTHY_MS` (default 60 000): a service with Postgres redrives
 *   the `dependency` dead letters it wrote once its dependencies have answered for this long (kafka-runtime
 *   DependencyRedrive; issue 12 §4). A minute: longer than a broker or store restart's flapping, short next to an outage.
 */
export const platformEnvSchema = z.object({
  KAFKA_BROKERS: hostPortList.default(['127.0.0.1:19092']),
  SCHEMA_REGISTRY_URL: z.url().default('http://127.0.0.1:18081/apis/ccompat/v7'),
  DATABASE_URL: z.string().startsWith('postgres').default('postgres://llmgov:llmgov@127.0.0.1:15432/llmgov'),
  REDIS_URL: z.string().startsWith('redis').default('redis://127.0.0.1:16379'),
  HTTP_PORT: intFromEnv(0, 65535).default(0),
  HTTP_HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  KAFKA_RETRY_INITIAL_MS: intFromEnv(1, 60_000).default(300),
  KAFKA_RETRY_MAX_MS: intFromEnv(1, 600_000).default(30_000),
  KAFKA_HANDLER_MAX_ATTEMPTS: intFromEnv(1, 20).default(5),
  KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY: intFromEnv(1, 64).default(3),
  KAFKA_HANDLER_CONCURRENCY: intFromEnv(1, 4096).default(32),
  KAFKA_GROUP_ID: z.string().min(1).optional(),
  KAFKA_SESSION_TIMEOUT_MS: intFromEnv(6_000, 300_000).default(30_000),
  KAFKA_FROM_BEGINNING: boolFromEnv.default(true),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .max(100)
    .regex(/^[A-Za-z0-9._-]*$/, 'expected Kafka topic characters only: A-Z a-z 0-9 . _ -')
    .default(''),
  DLQ_AUTO_REDRIVE: boolFromEnv.default(true),
  DLQ_AUTO_REDRIVE_HEALTHY_MS: intFromEnv(1_000, 86_400_000).default(60_000),
});

export type PlatformConfig = z.infer<typeof platformEnvSchema>;

/** Nest injection token of the loaded PlatformConfig (provided by the Kafka runtime module). */
export const PLATFORM_CONFIG = Symbol('PLATFORM_CONFIG');

/**
 * Loads the shared platform settings, extended with a service's own variables.
 * @throws ConfigError listing every invalid variable.
 */
export function loadPlatformConfig<E extends z.ZodRawShape>(
  extra: E = {} as E,
  env: Record<string, string | undefined> = process.env,
): PlatformConfig & z.infer<z.ZodObject<E>> {
  return loadConfig(platformEnvSchema.extend(extra), env) as PlatformConfig & z.infer<z.ZodObject<E>>;
}
