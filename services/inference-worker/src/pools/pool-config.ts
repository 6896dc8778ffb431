import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Tier } from '@llmgov/contracts';
import { PromptTemplateError, loadPromptTemplate, templateId, type PromptTemplate } from './prompt-template.js';
import { loadPromptLibrary, templateContent } from './prompt-library.js';

/** The model tiers, smallest first. */
export const TIERS = ['S', 'M', 'L'] as const satisfies readonly Tier[];

/**
 * The repository's default prompt template, infra/prompts/rag-chat.v1.json (this file is
 * services/inference-worker/dist/src/pools/pool-config.js): the system prompt, then "Context:\n[1] …\n\nQuestion: …".
 */
export const DEFAULT_PROMPT_TEMPLATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../../infra/prompts/rag-chat.v1.json');

/**
 * The repository's prompts folder, infra/prompts (beside infra/pools, and at /app/infra/prompts in the container image):
 * the worker's default `PROMPTS_DIR`, the folder `llmgov policy apply` reads a policy's templates from.
 */
export const DEFAULT_PROMPTS_DIR = path.dirname(DEFAULT_PROMPT_TEMPLATE);

const endpointSchema = z.object({
  /** Base URL of an OpenAI-compatible server: vLLM or llama.cpp's (`/v1/…` and `/metrics` below it). */
  url: z.url(),
  /** Requests this worker instance keeps in flight on the endpoint (count). */
  max_inflight: z.int().min(1).max(4096),
  /**
   * The server's `--max-num-seqs` (vLLM) or `--parallel` slot count (llama.cpp) (count); used for the GPU-seconds
   * estimate, and for llama.cpp as the `totalSlots` of the slot-occupancy KV figure.
   */
  max_num_seqs: z.int().min(1).max(4096),
  /** Metric names of the engine's `/metrics`: `vllm:*`, `llamacpp:*`, or `auto` (detected on every scrape). */
  metrics_dialect: z.enum(['vllm', 'llamacpp', 'auto']).default('auto'),
  /** Cost metadata passed to the cost-attributor in usage events. */
  gpu_type: z.string().min(1),
  usd_per_gpu_hour: z.number().nonnegative().finite(),
});

const poolSchema = z
  .object({
    /** Model name sent in requests (vLLM `--served-model-name`, llama.cpp `--alias`). */
    model: z.string().min(1),
    /** OpenAI API the engines are called through: `chat` (`/v1/chat/completions`) or `completions` (`/v1/completions`, base models). */
    api: z.enum(['chat', 'completions']).default('chat'),
    /** Prompt template file, relative to the pool file's directory; default: the repository's infra/prompts/rag-chat.v1.json. */
    prompt_template: z.string().min(1).optional(),
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

/** The pool file as validated by the schema (templates not yet loaded). */
export type PoolsFile = z.infer<typeof poolsFileSchema>;
/** One tier's pool: the file's fields plus its loaded prompt template. */
export type PoolConfig = PoolsFile['pools'][Tier] & { template: PromptTemplate };
/** A loaded pool config: the file with every pool's prompt template read and validated. */
export type PoolsConfig = Omit<PoolsFile, 'pools'> & {
  pools: Record<Tier, PoolConfig>;
  /**
   * Every template this worker can render, keyed by `name@version` (a null-prototype object): the prompts folder's and
   * each pool's own. A routed record's `prompt_template` is looked up here (PoolRegistry.templateFor).
   */
  templates: Record<string, PromptTemplate>;
};
export type EndpointConfig = PoolConfig['endpoints'][number];
export type SaturationConfig = PoolsConfig['saturation'];
export type BreakerConfig = PoolsConfig['circuit_breaker'];

export class PoolsConfigError extends Error {
  override readonly name = 'PoolsConfigError';
}

/**
 * Parses and validates pool config JSON and loads each pool's prompt template (`prompt_template` resolved against
 * `baseDir`, default: the directory of `source` when it is a path, else the working directory), checking that the
 * template's `api` is the pool's; then, when `promptsDir` is given, every template of that folder
 * ({@link loadPromptLibrary}, the same checks). A pool template and a folder file that are both `name@version` must have
 * the same content (a released version never changes in place).
 * @throws PoolsConfigError naming the file and every invalid field, including the template file and its field.
 */
export function parsePoolsConfig(text: string, source = 'pools config', baseDir = path.dirname(path.resolve(source)), promptsDir?: string): PoolsConfig {
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
  const file = parsed.data;
  const problems: string[] = [];
  const pools = {} as Record<Tier, PoolConfig>;
  for (const tier of TIERS) {
    const pool = file.pools[tier];
    const templateFile = pool.prompt_template !== undefined ? path.resolve(baseDir, pool.prompt_template) : DEFAULT_PROMPT_TEMPLATE;
    try {
      const template = loadPromptTemplate(templateFile);
      if (template.api !== pool.api)
        throw new PromptTemplateError(
          `prompt template ${templateFile} (${templateId(template)}) is for api "${template.api}", the pool's api is "${pool.api}"`,
        );
      pools[tier] = { ...pool, template };
    } catch (err) {
      if (!(err instanceof PromptTemplateError)) throw err;
      problems.push(`pools.${tier}.prompt_template: ${err.message}`);
    }
  }
  let templates = Object.create(null) as Record<string, PromptTemplate>;
  if (promptsDir !== undefined) {
    try {
      templates = loadPromptLibrary(promptsDir);
    } catch (err) {
      if (!(err instanceof PromptTemplateError)) throw err;
      problems.push(`prompts (PROMPTS_DIR): ${err.message}`);
    }
  }
  for (const tier of TIERS) {
    const own = pools[tier]?.template;
    if (!own) continue;
    const id = templateId(own);
    const known = templates[id];
    if (known === undefined) templates[id] = own;
    else if (templateContent(known) !== templateContent(own))
      problems.push(`pools.${tier}.prompt_template: ${own.file} and ${known.file} are both ${id} with different content; give the changed one a new version`);
  }
  if (problems.length > 0) throw new PoolsConfigError(`${source}: ${problems.join('; ')}`);
  return { ...file, pools, templates };
}

/** Largest pool config file read, bytes: a few hundred endpoints fit in far less. */
export const MAX_POOLS_FILE_BYTES = 1024 * 1024;

/**
 * Reads and validates a pool config file, and the templates of `promptsDir` when given ({@link parsePoolsConfig}).
 * @throws PoolsConfigError when it cannot be read, is too large or is invalid.
 */
export function loadPoolsConfig(path: string, promptsDir?: string): PoolsConfig {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_POOLS_FILE_BYTES) throw new Error(`${size} bytes, more than the ${MAX_POOLS_FILE_BYTES} allowed`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PoolsConfigError(`cannot read pool config ${path}: ${(err as Error).message}`);
  }
  return parsePoolsConfig(text, path, undefined, promptsDir);
}

/** A pool's in-flight bound for this worker: its own `max_inflight`, else the sum over its endpoints. */
export const poolMaxInflight = (p: PoolConfig): number => p.max_inflight ?? p.endpoints.reduce((n, e) => n + e.max_inflight, 0);
