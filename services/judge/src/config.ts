import { z } from 'zod';
import { intFromEnv, loadPlatformConfig, retrievalEnv } from '@llmgov/config';

/**
 * judge settings.
 * - `JUDGE_MIN_QUALITY`: quality bar (0..1) a completion's combined quality must reach to PASS. Unset (default), the bar
 *   calibrated with `npm run bench:judge` (`DEFAULT_JUDGE_WEIGHTS.threshold` in @llmgov/judging). The completion record
 *   carries the job's `budget.min_quality`, but this release applies one platform-wide bar.
 * - `JUDGE_CACHE_TTL_S`: lifetime of an exact-cache entry written on PASS, in seconds (default 86400, one day).
 * - `EMBEDDINGS`, `EMBEDDINGS_URL`, `EMBEDDINGS_MODEL`, `EMBEDDING_DIMENSIONS` (libs/config `retrievalEnv`): with
 *   `EMBEDDINGS=openai` (the real all-MiniLM-L6-v2 of the local model stack) the judge computes semantic support on the
 *   same embeddings the embedder and router use; with `local` (the hashing embedder, no model) it uses lexical scores only.
 */
export const judgeEnv = {
  JUDGE_MIN_QUALITY: z.coerce.number().min(0).max(1).optional(),
  JUDGE_CACHE_TTL_S: intFromEnv(1, 30 * 24 * 3600).default(86_400),
  EMBEDDINGS: retrievalEnv.EMBEDDINGS,
  EMBEDDINGS_URL: retrievalEnv.EMBEDDINGS_URL,
  EMBEDDINGS_MODEL: retrievalEnv.EMBEDDINGS_MODEL,
  EMBEDDING_DIMENSIONS: retrievalEnv.EMBEDDING_DIMENSIONS,
};

export const JUDGE_CONFIG = Symbol('JUDGE_CONFIG');
export const loadJudgeConfig = () => loadPlatformConfig(judgeEnv);
/** The fields the judge reads; tests may pass just these. */
export type JudgeConfig = Pick<ReturnType<typeof loadJudgeConfig>, 'JUDGE_MIN_QUALITY' | 'JUDGE_CACHE_TTL_S'>;

/** Injection token of the judge's embeddings client (absent: lexical scores only). */
export const JUDGE_EMBEDDINGS = Symbol('JUDGE_EMBEDDINGS');
