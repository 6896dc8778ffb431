import type { PolicyDocument, SloClass } from './schema.js';

/**
 * The semantic cache's policy side (issue 10 §4, ADR 0008): its settings with their defaults, the time to live of a
 * cached answer, and the calibration of a similarity threshold from labelled hits. Pure code: no clock, store or network.
 */

/** Defaults of `policy.semantic_cache` (each field optional in the document). */
export const SEMANTIC_CACHE_DEFAULTS = {
  enabled: true,
  /**
   * Cosine similarity a semantic hit needs when no threshold was calibrated. Conservative on purpose: on
   * all-MiniLM-L6-v2 vectors of SQuAD questions, 5 % of same-paragraph questions with another answer reach 0.89 and the
   * calibration for a 2 % false-hit target gave 0.948 (bench/README.md, "Semantic cache").
   */
  defaultThreshold: 0.95,
  /** False-hit rate target of a calibration, as an upper confidence bound (issue 10: "for example 2%"). */
  falseHitTarget: 0.02,
  /** Entries kept per scope; the oldest go first. Bounds the router’s scan (ADR 0008: a lookup at 1000 entries of 384 dims measured p50 0.47 ms, of which 0.31 ms the scan). */
  maxEntriesPerScope: 1000,
} as const;

export interface EffectiveSemanticCacheSettings {
  enabled: boolean;
  defaultThreshold: number;
  falseHitTarget: number;
  maxEntriesPerScope: number;
}

/** The document's `semantic_cache` block with the defaults filled in. */
export function semanticCacheSettings(policy: Pick<PolicyDocument, 'semantic_cache'>): EffectiveSemanticCacheSettings {
  const s = policy.semantic_cache ?? {};
  return {
    enabled: s.enabled ?? SEMANTIC_CACHE_DEFAULTS.enabled,
    defaultThreshold: s.default_threshold ?? SEMANTIC_CACHE_DEFAULTS.defaultThreshold,
    falseHitTarget: s.false_hit_target ?? SEMANTIC_CACHE_DEFAULTS.falseHitTarget,
    maxEntriesPerScope: s.max_entries_per_scope ?? SEMANTIC_CACHE_DEFAULTS.maxEntriesPerScope,
  };
}

/**
 * Time to live of an answer cached for a request, seconds: the intent's `cache_ttl_s` when the classifier named an intent
 * that declares one, else the SLO class's `cache_ttl_s`; 0 when the class allows no cache (nothing is cached).
 */
export function cacheTtlSeconds(
  policy: Pick<PolicyDocument, 'classifier'>,
  slo: Pick<SloClass, 'cache_allowed' | 'cache_ttl_s'>,
  intent: string | null,
): number {
  if (!slo.cache_allowed) return 0;
  const declared = intent === null ? undefined : policy.classifier.intents.find((i) => i.name === intent)?.cache_ttl_s;
  return declared ?? slo.cache_ttl_s;
}

/** One labelled lookup: the similarity of a query to its nearest cached entry, and whether that entry's answer is right for it. */
export interface LabelledHit {
  /** Cosine similarity, -1..1. */
  similarity: number;
  /** True when the cached answer serves the query (same gold answer, or a judge/feedback PASS); false = a false hit. */
  correct: boolean;
}

/** z of a one-sided 95 % confidence bound (the standard normal's 0.95 quantile). */
export const Z_ONE_SIDED_95 = 1.6448536269514722;

/**
 * Upper end of the Wilson score interval for a binomial proportion with `k` events in `n` trials (E. B. Wilson, "Probable
 * inference, the law of succession, and statistical inference", JASA 22 (1927); as in Agresti & Coull, The American
 * Statistician 52 (1998)): ( p + z²/2n + z·sqrt(p(1-p)/n + z²/4n²) ) / (1 + z²/n), p = k/n. With `z` = 1.645 it is a
 * one-sided 95 % upper bound. 1 when n is 0.
 * @throws RangeError when k or n is negative or not an integer, or k > n.
 */
export function wilsonUpperBound(k: number, n: number, z = Z_ONE_SIDED_95): number {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n)
    throw new RangeError(`wilsonUpperBound: need integers 0 <= k <= n, got k=${k}, n=${n}`);
  if (n === 0) return 1;
  const p = k / n;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return Math.min(1, (centre + spread) / (1 + z2 / n));
}

export interface CalibrationOptions {
  /** False-hit rate the upper bound must stay at or under, 0..1 (default 0.02). */
  target?: number;
  /** z of the one-sided bound (default 1.645: 95 %). */
  z?: number;
  /** Lowest threshold considered (default 0.5): below it a "neighbour" is not a paraphrase on any sentence-embedding model we know. */
  floor?: number;
}

/** The outcome of a calibration over labelled lookups. Rates are fractions 0..1. */
export interface ThresholdCalibration {
  /** The lowest similarity at which the false-hit upper bound stays under the target; null when none does. */
  threshold: number | null;
  target: number;
  z: number;
  /** Labelled lookups used, and how many of them were correct (a right answer was cached). */
  pairs: number;
  positives: number;
  /** At the threshold: lookups served (similarity >= threshold), false ones among them, their rate and its upper bound. */
  hits: number;
  falseHits: number;
  falseHitRate: number;
  falseHitUpperBound: number;
  /** Served lookups / all lookups, and correct served / all correct (what the layer saves of what it could). */
  hitRate: number;
  recall: number;
}

/**
 * Picks the lowest similarity threshold whose false-hit rate, as a one-sided Wilson upper bound over the labelled lookups
 * at or above it, stays at or under `target`. A lookup at or above the threshold is a served hit; it is false when its
 * label says the cached answer is wrong for the query. The served false-hit rate of a threshold is exactly the rate
 * over the lookups at or above it, so the lowest threshold that passes is the one that serves most within the bound
 * (the idea of vCache, arXiv 2502.03771, of choosing thresholds under a user-set error bound; this is our own per-scope
 * version, not its per-entry estimator). Ties: every lookup at exactly the threshold counts as served.
 * @throws RangeError when the target is not in (0, 1) or a similarity is not finite.
 */
export function calibrateThreshold(labelled: readonly LabelledHit[], options: CalibrationOptions = {}): ThresholdCalibration {
  const target = options.target ?? 0.02;
  const z = options.z ?? Z_ONE_SIDED_95;
  const floor = options.floor ?? 0.5;
  if (!(target > 0 && target < 1)) throw new RangeError(`calibrateThreshold: target must be in (0, 1), got ${target}`);
  for (const l of labelled) if (!Number.isFinite(l.similarity)) throw new RangeError(`calibrateThreshold: similarity ${l.similarity} is not finite`);
  const sorted = [...labelled].sort((a, b) => b.similarity - a.similarity);
  const positives = sorted.filter((l) => l.correct).length;
  let best: { threshold: number; hits: number; falseHits: number; correct: number } | null = null;
  let hits = 0;
  let falseHits = 0;
  for (let i = 0; i < sorted.length; i++) {
    const l = sorted[i]!;
    hits++;
    if (!l.correct) falseHits++;
    const next = sorted[i + 1];
    if (next !== undefined && next.similarity === l.similarity) continue; // ties are served together
    if (l.similarity < floor) break;
    if (wilsonUpperBound(falseHits, hits, z) <= target) best = { threshold: l.similarity, hits, falseHits, correct: hits - falseHits };
  }
  const n = sorted.length;
  if (best === null) {
    return { threshold: null, target, z, pairs: n, positives, hits: 0, falseHits: 0, falseHitRate: 0, falseHitUpperBound: 1, hitRate: 0, recall: 0 };
  }
  return {
    threshold: best.threshold,
    target,
    z,
    pairs: n,
    positives,
    hits: best.hits,
    falseHits: best.falseHits,
    falseHitRate: best.falseHits / best.hits,
    falseHitUpperBound: wilsonUpperBound(best.falseHits, best.hits, z),
    hitRate: n === 0 ? 0 : best.hits / n,
    recall: positives === 0 ? 0 : best.correct / positives,
  };
}

/** What a threshold does on a labelled set: served hits, false ones and their rate (for held-out evaluation). */
export function evaluateThreshold(
  labelled: readonly LabelledHit[],
  threshold: number,
): { lookups: number; hits: number; falseHits: number; falseHitRate: number; hitRate: number; recall: number } {
  const served = labelled.filter((l) => l.similarity >= threshold);
  const falseHits = served.filter((l) => !l.correct).length;
  const positives = labelled.filter((l) => l.correct).length;
  return {
    lookups: labelled.length,
    hits: served.length,
    falseHits,
    falseHitRate: served.length === 0 ? 0 : falseHits / served.length,
    hitRate: labelled.length === 0 ? 0 : served.length / labelled.length,
    recall: positives === 0 ? 0 : (served.length - falseHits) / positives,
  };
}
