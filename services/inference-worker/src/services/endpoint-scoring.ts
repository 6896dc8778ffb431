import type { EngineLoad } from './saturation.js';

export interface Candidate {
  url: string;
  /** This worker's requests in flight on the endpoint, and its bound. */
  inflight: number;
  maxInflight: number;
  /** Latest fresh load, or undefined when metrics are missing or stale. */
  load: EngineLoad | undefined;
}

/** Weights of the three scorers (llm-d's default scheduling profile weighs its scorers equally). */
export const SCORE_WEIGHTS = { queue: 1, kvCache: 1, inflight: 1 } as const;

/**
 * Scores candidates for one request, higher is better, after llm-d's scorers:
 * - queue scorer: (max waiting − waiting) / (max waiting − min waiting) across the candidates (1 for all when equal);
 * - KV-cache scorer: 1 − KV-cache usage;
 * - our own in-flight count: 1 − inflight / maxInflight, which reacts between scrapes.
 * An endpoint without fresh metrics scores 0 on the first two.
 */
export function scoreEndpoints(candidates: readonly Candidate[]): number[] {
  const queues = candidates.flatMap((c) => (c.load ? [c.load.waiting] : []));
  const minQ = Math.min(...queues);
  const maxQ = Math.max(...queues);
  return candidates.map((c) => {
    const queue = c.load ? (maxQ === minQ ? 1 : (maxQ - c.load.waiting) / (maxQ - minQ)) : 0;
    const kv = c.load ? 1 - Math.min(1, Math.max(0, c.load.kvCacheUsage)) : 0;
    const own = 1 - c.inflight / c.maxInflight;
    return SCORE_WEIGHTS.queue * queue + SCORE_WEIGHTS.kvCache * kv + SCORE_WEIGHTS.inflight * own;
  });
}

/** Index of the best candidate (ties: fewer own in-flight, then list order), or -1 for an empty list. */
export function pickBest(candidates: readonly Candidate[]): number {
  const scores = scoreEndpoints(candidates);
  let best = -1;
  for (let i = 0; i < candidates.length; i++) {
    if (best < 0 || scores[i]! > scores[best]! || (scores[i] === scores[best] && candidates[i]!.inflight < candidates[best]!.inflight)) best = i;
  }
  return best;
}
