import { z } from 'zod';
import { boolFromEnv, intFromEnv, loadPlatformConfig, retrievalEnv } from '@llmgov/config';
import { DEFAULT_CAPACITY_STALE_MS } from '@llmgov/policy';

const tierMap = z
  .string()
  .transform((s) => Object.fromEntries(s.split(',').map((p) => p.trim().split('=') as [string, string])))
  .pipe(z.object({ S: z.string().min(1), M: z.string().min(1), L: z.string().min(1) }));

const budgets = z
  .string()
  .transform(
    (s) =>
      new Map(
        s
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean)
          .map((p) => {
            const [t, v] = p.split('=');
            return [t ?? '', Number(v)] as const;
          }),
      ),
  )
  .refine((m) => [...m.values()].every((v) => Number.isFinite(v) && v >= 0), 'expected tenant=usd[,tenant=usd]');

/**
 * router settings.
 * - `TIER_MODELS`: served model per tier, `S=model,M=model,L=model`.
 * - `RETRIEVAL_K`: chunks retrieved per request; `RETRIEVAL_MODE`: hybrid (dense + BM25, RRF), dense, sparse, or
 *   auto (default): hybrid with a real embedding model (`EMBEDDINGS=openai`), BM25 alone with the local hashing embedder.
 *   Measured on the SQuAD dev subset's 4,961 questions, recall@5 of the gold paragraph: with all-MiniLM-L6-v2
 *   (`npm run bench:retrieval`, bench/README.md) BM25 0.947, dense 0.895, hybrid 0.965; with the hashing embedder
 *   (libs/vector-store/test/bench/squad-retrieval.ts) BM25 0.947, dense 0.678, hybrid 0.854, because it only re-encodes
 *   word overlap that BM25 already scores better.
 * - `TENANT_BUDGETS_USD`: monthly budget per tenant, `tenant=usd,...`; a tenant at or above 100 % is refused.
 * - `TIER_M_PROMPT_TOKENS`: prompts longer than this many tokens go to tier M at least.
 * - `POLICY_ENABLED` (default true) and `POLICY_NAMESPACE` (default `default`): follow the active routing policy version
 *   of that namespace in Postgres (`llmgov policy activate`); while none is active the built-in tier rule above applies.
 * - `CAPACITY_GATE` (default true): fill the policy decision's capacity signals from the inference workers' reports in
 *   Redis (issue 10, section 5); `CAPACITY_REFRESH_MS` (500): how often they are re-read into memory, ms;
 *   `CAPACITY_STALE_MS` (5000): reports older than this are ignored, ms (workers report every second).
 */
export const loadRouterConfig = () =>
  loadPlatformConfig({
    ...retrievalEnv,
    TIER_MODELS: tierMap.default({ S: 'local-sim-s', M: 'local-sim-m', L: 'local-sim-l' }),
    RETRIEVAL_K: intFromEnv(1, 100).default(5),
    RETRIEVAL_MODE: z.enum(['auto', 'hybrid', 'dense', 'sparse']).default('auto'),
    TENANT_BUDGETS_USD: budgets.default(new Map()),
    TIER_M_PROMPT_TOKENS: intFromEnv(1, 100_000).default(48),
    POLICY_ENABLED: boolFromEnv.default(true),
    CAPACITY_GATE: boolFromEnv.default(true),
    CAPACITY_REFRESH_MS: intFromEnv(50, 60_000).default(500),
    CAPACITY_STALE_MS: intFromEnv(100, 3_600_000).default(DEFAULT_CAPACITY_STALE_MS),
    POLICY_NAMESPACE: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .default('default'),
  });
export type RouterConfig = ReturnType<typeof loadRouterConfig>;
export const ROUTER_CONFIG = Symbol('ROUTER_CONFIG');
