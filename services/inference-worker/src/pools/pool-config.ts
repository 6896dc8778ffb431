import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import type { Tier } from '@llmgov/contracts';

/** The model tiers, smallest first. */
export const TIERS = ['S', 'M', 'L'] as const satisfies readonly Tier[];

const endpointSchema = z.object({
  /** Base URL of an OpenAI-compatible vLLM server (`/v1/chat/completions` and `/metrics` below it). */
  url: z.url(),
  /** Requests this worker instance keeps in flight on the endpoint (count). */
  max_inflight: z.int().min(1).max(4096),
  /** The server's `--max-num-seqs` (count); used for the GPU-seconds estimate. */
  max_num_seqs: z.int().min(1).max(4096),
  /** Cost metadata passed to the cost-attributor in usage events. */
  gpu_type: z.string().min(1),
  usd_per_gpu_hour: z.number().nonnegative().finite(),
});

const poolSchema = z
  .object({
    /** Model name sent in requests (vLLM `--served-model-name`). */
    model: z.string().min(1),
    /** Requests this worker instance keeps in flight on the whole pool (count); default: the sum over endpoints. */
    max_inflight: z.int().min(1).max(65_536).optional(),
    endpoints: z.array(endpointSchema).min(1),
  })
  .refine((p) => new Set(p.endpoints.map((e) => e.url)).size === p.endpoints.length, { message: 'endpoint urls must be unique' });

/**
 * Saturation thresholds, after llm-d's saturation detector (gateway-api-inference-extension
 * `pkg/epp/saturationdetector`): an endpoint counts as saturated when its metrics are older than
 * `metrics_staleness_ms`, its waiting queue exceeds `queue_depth_threshold`, or its KV-cache usage exceeds
 * `kv_cache_util_threshold` (defaults 5 requests and 0.8 there). The watermarks are ours (hysteresis).
 */
const saturationSchema = z
  .object({
    queue_depth_threshold: z.number().positive().default(5),
    kv_cache_util_threshold: z.number().gt(0).max(1).default(0.8),
    metrics_staleness_ms: z.int().min(1).default(2_000),
    /** Pause consumption when pool saturation reaches this (1.0 = every endpoint at a threshold). */
    high_watermark: z.number().positive().max(1).default(1),
    /** Resume when pool saturation falls to this; must be below high_watermark. */
    low_watermark: z.number().nonnegative().default(0.7),
  })
  .refine((s) => s.low_watermark < s.high_watermark, { message: 'low_watermark must be below high_watermark' });

/** Per-endpoint circuit breaker (see CircuitBreaker); defaults are the platform's SLO policy. */
const breakerSchema = z.object({
  consecutive_failures: z.int().min(1).default(3),
  failure_ratio: z.number().gt(0).max(1).default(0.1),
  window_ms: z.int().min(100).default(10_000),
  /** Requests in the window before the ratio rule applies (a lone failure is not "10 %"). */
  min_requests: z.int().min(1).default(10),
  recovery_ms: z.int().min(1).default(5_000),
  half_open_probes: z.int().min(1).default(3),
});

export const poolsFileSchema = z.object({
  /** Version of this file's content; logged and exported as `inference_pool_config_version`. Bump on every change. */
  version: z.int().min(1),
  saturation: saturationSchema.prefault({}),
  circuit_breaker: breakerSchema.prefault({}),
  pools: z.object({ S: poolSchema, M: poolSchema, L: poolSchema }),
});

export type PoolsConfig = z.infer<typeof poolsFileSchema>;
export type PoolConfig = PoolsConfig['pools'][Tier];
export type EndpointConfig = PoolConfig['endpoints'][number];
export type SaturationConfig = PoolsConfig['saturation'];
export type BreakerConfig = PoolsConfig['circuit_breaker'];

export class PoolsConfigError extends Error {
  override readonly name = 'PoolsConfigError';
}

/** Parses and validates pool config JSON. @throws PoolsConfigError naming every invalid field. */
export function parsePoolsConfig(text: string, source = 'pools config'): PoolsConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PoolsConfigError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = poolsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PoolsConfigError(`${source}: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Largest pool config file read, bytes: a few hundred endpoints fit in far less. */
export const MAX_POOLS_FILE_BYTES = 1024 * 1024;

/** Reads and validates a pool config file. @throws PoolsConfigError when it cannot be read, is too large or is invalid. */
export function loadPoolsConfig(path: string): PoolsConfig {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_POOLS_FILE_BYTES) throw new Error(`${size} bytes, more than the ${MAX_POOLS_FILE_BYTES} allowed`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PoolsConfigError(`cannot read pool config ${path}: ${(err as Error).message}`);
  }
  return parsePoolsConfig(text, path);
}

/** A pool's in-flight bound for this worker: its own `max_inflight`, else the sum over its endpoints. */
export const poolMaxInflight = (p: PoolConfig): number => p.max_inflight ?? p.endpoints.reduce((n, e) => n + e.max_inflight, 0);
