import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { intFromEnv, loadPlatformConfig } from '@llmgov/config';

/** infra/pools/local.json of this repository (this file is services/inference-worker/dist/src/config.js). */
const LOCAL_POOLS_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../infra/pools/local.json');
/** infra/prompts of this repository, the folder beside infra/pools (also /app/infra/prompts in the container image). */
const LOCAL_PROMPTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../infra/prompts');

/**
 * inference-worker settings.
 * - `POOLS_FILE`: the pool config (see infra/pools/README.md); re-read when it changes or on SIGHUP.
 *   Default: infra/pools/local.json (one local engine per tier on 18001-18003).
 * - `PROMPTS_DIR`: the folder of versioned prompt templates (`NAME.vVERSION.json`, infra/prompts/README.md) a routed
 *   record's `prompt_template` (`name@version`, stamped by the router from the deciding policy version) is looked up
 *   in. Every template file in it is read and validated at start-up and with every pool config reload (an invalid one
 *   fails the start-up or rejects the reload, as a pool's template does). A record naming a template the worker does
 *   not have, or one for another api than the pool's, gets the pool's own template, counted in
 *   `inference_prompt_template_fallbacks_total{tier,reason}`. Default: the repository's infra/prompts (the folder
 *   `llmgov policy apply` reads a policy's templates from).
 * - `WORKER_TIERS`: tiers this instance consumes, e.g. `S` or `S,M` (default all); instances sharing a tier share its
 *   consumer group `<KAFKA_GROUP_ID or inference-worker>.<tier>`.
 * - `SCRAPE_INTERVAL_MS`: how often each endpoint's `/metrics` is read and flow control re-evaluated (ms).
 * - `INFERENCE_MAX_ATTEMPTS`: calls per job attempt, the first included (retries prefer another endpoint).
 * - `RETRY_INITIAL_MS` / `RETRY_MAX_MS`: jittered exponential backoff between those calls (ms).
 * - `DEFAULT_SYSTEM_PROMPT`: used when a request has none.
 * - `CAPACITY_PUBLISH_MS`: how often each served tier's capacity report (saturation, paused, consumer lag, service rate
 *   and time) is written to Redis for the routers' capacity gate (ms); each report lives 3 intervals (at least 1 s).
 */
export const loadWorkerConfig = () =>
  loadPlatformConfig({
    POOLS_FILE: z.string().min(1).default(LOCAL_POOLS_FILE),
    PROMPTS_DIR: z.string().min(1).default(LOCAL_PROMPTS_DIR),
    WORKER_TIERS: z
      .string()
      .default('S,M,L')
      .transform((s) =>
        s
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.enum(['S', 'M', 'L'])).min(1)),
    SCRAPE_INTERVAL_MS: intFromEnv(20, 60_000).default(250),
    INFERENCE_MAX_ATTEMPTS: intFromEnv(1, 10).default(3),
    RETRY_INITIAL_MS: intFromEnv(1, 60_000).default(100),
    RETRY_MAX_MS: intFromEnv(1, 600_000).default(2_000),
    CAPACITY_PUBLISH_MS: intFromEnv(50, 60_000).default(1_000),
    DEFAULT_SYSTEM_PROMPT: z.string().default('Answer the question using only the context. If the context does not contain the answer, say so.'),
  });
export type WorkerConfig = ReturnType<typeof loadWorkerConfig>;
export const WORKER_CONFIG = Symbol('WORKER_CONFIG');
