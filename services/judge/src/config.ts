import { z } from 'zod';
import { intFromEnv, loadPlatformConfig } from '@llmgov/config';

/**
 * judge settings.
 * - `JUDGE_MIN_GROUNDEDNESS`: quality bar (0..1) a completion's groundedness must reach to PASS. The completion
 *   record carries the job's `budget.min_quality`, but this release applies one platform-wide bar (default 0.5).
 * - `JUDGE_CACHE_TTL_S`: lifetime of an exact-cache entry written on PASS, in seconds (default 86400, one day).
 */
export const judgeEnv = {
  JUDGE_MIN_GROUNDEDNESS: z.coerce.number().min(0).max(1).default(0.5),
  JUDGE_CACHE_TTL_S: intFromEnv(1, 30 * 24 * 3600).default(86_400),
};

export const JUDGE_CONFIG = Symbol('JUDGE_CONFIG');
export const loadJudgeConfig = () => loadPlatformConfig(judgeEnv);
/** The fields the judge reads; tests may pass just these. */
export type JudgeConfig = Pick<ReturnType<typeof loadJudgeConfig>, 'JUDGE_MIN_GROUNDEDNESS' | 'JUDGE_CACHE_TTL_S'>;
