import { z } from 'zod';
import { intFromEnv, loadPlatformConfig } from '@llmgov/config';

/** `S=url|url,M=url,L=url`: OpenAI-compatible vLLM endpoints (base URLs) per tier. */
const pools = z
  .string()
  .transform((s) =>
    Object.fromEntries(
      s.split(',').map((p) => {
        const [tier, urls] = p.trim().split('=');
        return [tier ?? '', (urls ?? '').split('|').map((u) => u.trim()).filter(Boolean)];
      }),
    ),
  )
  .pipe(z.object({ S: z.array(z.url()).min(1), M: z.array(z.url()).min(1), L: z.array(z.url()).min(1) }));

/**
 * inference-worker settings.
 * - `VLLM_POOLS`: endpoints per tier (see above). Default: one local engine per tier on 18001-18003.
 * - `MAX_INFLIGHT_PER_ENDPOINT`: requests this instance keeps in flight per endpoint.
 * - `ENGINE_MAX_NUM_SEQS`: the engines' `max_num_seqs`, used to estimate GPU-seconds (a sequence holds 1/max_num_seqs of a GPU while it runs).
 * - `DEFAULT_SYSTEM_PROMPT`: used when a request has none.
 */
export const loadWorkerConfig = () =>
  loadPlatformConfig({
    VLLM_POOLS: pools.default({ S: ['http://127.0.0.1:18001'], M: ['http://127.0.0.1:18002'], L: ['http://127.0.0.1:18003'] }),
    MAX_INFLIGHT_PER_ENDPOINT: intFromEnv(1, 4096).default(8),
    ENGINE_MAX_NUM_SEQS: intFromEnv(1, 4096).default(8),
    DEFAULT_SYSTEM_PROMPT: z.string().default('Answer the question using only the context. If the context does not contain the answer, say so.'),
  });
export type WorkerConfig = ReturnType<typeof loadWorkerConfig>;
export const WORKER_CONFIG = Symbol('WORKER_CONFIG');
