import { createHash } from 'node:crypto';
import { reword } from '@llmgov/policy';
import { budgetFor, routeFor, type SquadQuestion } from '@llmgov/demo';

/**
 * The governance benchmark's workload (issue 11 §5): requests drawn from a pool of SQuAD questions with a skewed,
 * Zipf-like popularity, some later asks reworded, each on a route and with a budget from the demo's caller mix.
 *
 * - Popularity: the pool's questions are ranked in a stable pseudo-random order; request i asks rank k with
 *   probability k^-s / H(N, s) (Zipf's law; web and query traffic follows it with s between about 0.6 and 1.0:
 *   Breslau et al., "Web caching and Zipf-like distributions", INFOCOM 1999). Default s = 0.9.
 * - Rewordings: a question asked again is reworded with probability `rewordShare` (default 0.5), with libs/policy
 *   `reword` seeded by the ask (a question-word substitution and a wrapper such as "Can you tell me …?"): synthetic,
 *   deterministic variants whose content words stay, easier than a person's paraphrases (ADR 0008).
 * - Routes and budgets: the demo's caller mix (tools/demo workload-mix.ts) by the question's id: one in ten on the
 *   fast support-faq route (SLO class `fast`, p95 budget 700 ms), one in ten on contract-review (`high_quality`), the
 *   rest on the tenant's default route.
 * Every draw comes from a SHA-256 of the seed and the request's position, so a seed gives the same workload everywhere.
 */

export type AskKind = 'original' | 'repeat' | 'reword';

export interface WorkloadRequest {
  /** Position in the stream, from 0. */
  seq: number;
  /** The question as asked: the pool question, or a rewording of it (id `<id>~reword<seq>`). */
  question: SquadQuestion;
  /** The pool question it asks (its gold answers and document). */
  base: SquadQuestion;
  kind: AskKind;
  /** Popularity rank of the base question, from 1. */
  rank: number;
  /** The route asked for (null: the tenant's default route). */
  route: string | null;
  budget: { latency_ms: number; max_cost_usd: number; min_quality: number };
}

export interface WorkloadOptions {
  /** Requests in the stream. */
  requests: number;
  /** Zipf exponent s > 0. */
  zipfS: number;
  /** Share (0..1) of repeated asks that are reworded. */
  rewordShare: number;
  seed: string;
}

/** A uniform draw in [0, 1) from the seed and a label (SHA-256; 32 bits are enough for these choices). */
export function uniform(seed: string, label: string): number {
  return createHash('sha256').update(`${seed}:${label}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** The cumulative Zipf distribution over ranks 1..n with exponent s: cdf[k-1] = P(rank <= k). */
export function zipfCdf(n: number, s: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`zipfCdf: n must be a positive integer, got ${n}`);
  if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`zipfCdf: s must be a positive number, got ${s}`);
  const weights = Array.from({ length: n }, (_, i) => (i + 1) ** -s);
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  return weights.map((w) => (acc += w / total));
}

/** The rank (from 1) whose cumulative probability first reaches `u` (binary search). */
export function rankOf(cdf: readonly number[], u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! >= u) hi = mid;
    else lo = mid + 1;
  }
  return lo + 1;
}

/**
 * Builds the request stream over `pool` (the distinct questions).
 * @throws RangeError when the pool is empty or an option is out of range.
 */
export function buildWorkload(pool: readonly SquadQuestion[], o: WorkloadOptions): WorkloadRequest[] {
  if (pool.length === 0) throw new RangeError('buildWorkload: the question pool is empty');
  if (!Number.isInteger(o.requests) || o.requests < 1) throw new RangeError(`buildWorkload: requests must be a positive integer, got ${o.requests}`);
  if (!(o.rewordShare >= 0 && o.rewordShare <= 1)) throw new RangeError(`buildWorkload: rewordShare must be in 0..1, got ${o.rewordShare}`);
  // Popularity order: the pool sorted by a hash of the seed and the question id (rank 1 first).
  const ranked = [...pool].sort((a, b) => uniform(o.seed, `rank:${a.id}`) - uniform(o.seed, `rank:${b.id}`) || a.id.localeCompare(b.id));
  const cdf = zipfCdf(ranked.length, o.zipfS);
  const asked = new Set<string>();
  const out: WorkloadRequest[] = [];
  for (let seq = 0; seq < o.requests; seq++) {
    const rank = rankOf(cdf, uniform(o.seed, `ask:${seq}`));
    const base = ranked[rank - 1]!;
    const kind: AskKind = !asked.has(base.id) ? 'original' : uniform(o.seed, `reword:${seq}`) < o.rewordShare ? 'reword' : 'repeat';
    asked.add(base.id);
    const question = kind === 'reword' ? { ...base, id: `${base.id}~reword${seq}`, question: reword(base.question, `${base.id}#${seq}`) } : base;
    out.push({ seq, question, base, kind, rank, route: routeFor(base.id), budget: budgetFor(base.id) });
  }
  return out;
}

/** Counts of a workload: requests by kind and route, distinct questions asked. */
export function describeWorkload(w: readonly WorkloadRequest[]): {
  requests: number;
  distinct: number;
  by_kind: Record<AskKind, number>;
  by_route: Record<string, number>;
} {
  const by_kind: Record<AskKind, number> = { original: 0, repeat: 0, reword: 0 };
  const by_route: Record<string, number> = {};
  for (const r of w) {
    by_kind[r.kind]++;
    by_route[r.route ?? 'default'] = (by_route[r.route ?? 'default'] ?? 0) + 1;
  }
  return { requests: w.length, distinct: new Set(w.map((r) => r.base.id)).size, by_kind, by_route };
}
