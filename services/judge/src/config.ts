import { z } from 'zod';
import { boolFromEnv, intFromEnv, loadPlatformConfig, retrievalEnv } from '@llmgov/config';

/**
 * judge settings.
 * - `JUDGE_MIN_QUALITY`: quality bar (0..1) a completion's combined quality must reach to PASS. Unset (default), the bar
 *   calibrated with `npm run bench:judge` (`DEFAULT_JUDGE_WEIGHTS.threshold` in @llmgov/judging). The completion record
 *   carries the job's `budget.min_quality`, but this release applies one platform-wide bar.
 * - `JUDGE_CACHE_TTL_S`: lifetime of an exact-cache entry written on PASS, in seconds (default 86400, one day).
 * - `POOLS_FILE`: the pool file; its `judge` section (model, url, prompt_template, timeout_ms) is the LLM-as-judge pool.
 *   No file or no section: cheap checks only.
 * - `POLICY_ENABLED` (default true) and `POLICY_NAMESPACE` (default `default`, the router's): read the policy version
 *   that decided each job from Postgres (DATABASE_URL), for its `judge` block (LLM sampling) and its SLO classes'
 *   `escalation` blocks (the cascade). false: no Postgres, the environment's sampling rates, no cascade.
 * - `JUDGE_LLM_SAMPLE` (`S=1,M=0.25,L=0.25`, the default: every S answer, a quarter of M and L) and
 *   `JUDGE_LLM_SAMPLE_ROUTES` (`route=rate,...`, overrides per route): share of answers the LLM judge sees when the
 *   job's policy version says nothing (no policy, no `judge` block, or a tier it leaves out); the others get only the
 *   cheap checks.
 * - `JUDGE_CASCADE` (unset: the policy decides, i.e. a job whose SLO class has an `escalation` block cascades; `false`:
 *   never, a kill switch; `true`: as unset, kept for older starters). `JUDGE_CASCADE_TTL_S` (default 3600): how long a
 *   job's judged attempts are kept in Redis, s.
 * - `EMBEDDINGS`, `EMBEDDINGS_URL`, `EMBEDDINGS_MODEL`, `EMBEDDING_DIMENSIONS` (libs/config `retrievalEnv`): with
 *   `EMBEDDINGS=openai` (the real all-MiniLM-L6-v2 of the local model stack) the judge computes semantic support on the
 *   same embeddings the embedder and router use; with `local` (the hashing embedder, no model) it uses lexical scores only.
 */
/** `S=1,M=0.25,L=0.25`: share of answers per tier (0..1) the LLM judge sees. */
const tierRates = z
  .string()
  .transform((v) =>
    Object.fromEntries(
      v.split(',').map((p) =>
        p
          .trim()
          .split('=')
          .map((x) => x.trim()),
      ),
    ),
  )
  .pipe(z.object({ S: z.coerce.number().min(0).max(1), M: z.coerce.number().min(0).max(1), L: z.coerce.number().min(0).max(1) }));
/** `route-a=1,route-b=0`: per-route overrides of the tier rates. */
const routeRates = z
  .string()
  .transform((v) =>
    Object.fromEntries(
      v
        .split(',')
        .filter(Boolean)
        .map((p) =>
          p
            .trim()
            .split('=')
            .map((x) => x.trim()),
        ),
    ),
  )
  .pipe(z.record(z.string().min(1), z.coerce.number().min(0).max(1)));

export const judgeEnv = {
  JUDGE_MIN_QUALITY: z.coerce.number().min(0).max(1).optional(),
  JUDGE_CACHE_TTL_S: intFromEnv(1, 30 * 24 * 3600).default(86_400),
  POOLS_FILE: z.string().optional(),
  JUDGE_LLM_SAMPLE: tierRates.default({ S: 1, M: 0.25, L: 0.25 }),
  JUDGE_LLM_SAMPLE_ROUTES: routeRates.default({}),
  JUDGE_CASCADE: boolFromEnv.optional(),
  POLICY_ENABLED: boolFromEnv.default(true),
  JUDGE_CASCADE_TTL_S: intFromEnv(60, 7 * 24 * 3600).default(3600),
  POLICY_NAMESPACE: z.string().min(1).max(63).default('default'),
  EMBEDDINGS: retrievalEnv.EMBEDDINGS,
  EMBEDDINGS_URL: retrievalEnv.EMBEDDINGS_URL,
  EMBEDDINGS_MODEL: retrievalEnv.EMBEDDINGS_MODEL,
  EMBEDDING_DIMENSIONS: retrievalEnv.EMBEDDING_DIMENSIONS,
};

export const JUDGE_CONFIG = Symbol('JUDGE_CONFIG');
export const loadJudgeConfig = () => loadPlatformConfig(judgeEnv);
/** The fields the judge reads; tests may pass just these. */
export type JudgeConfig = Pick<ReturnType<typeof loadJudgeConfig>, 'JUDGE_MIN_QUALITY' | 'JUDGE_CACHE_TTL_S'> &
  Partial<Pick<ReturnType<typeof loadJudgeConfig>, 'JUDGE_LLM_SAMPLE' | 'JUDGE_LLM_SAMPLE_ROUTES'>>;

/** Injection token of the judge's embeddings client (absent: lexical scores only). */
export const JUDGE_EMBEDDINGS = Symbol('JUDGE_EMBEDDINGS');

/** Injection token of the LLM-as-judge client (absent or null: cheap checks only). */
export const JUDGE_LLM = Symbol('JUDGE_LLM');
