import { agreementFigures, aggregateEval, confusion, CORRECT_F1, scoreItem, type ItemOutcome } from '@llmgov/judging';
import type { PolicyDocument } from '@llmgov/policy';
import { uniform } from './workload.js';

/** One request of an arm as the platform answered it (client view, job result and the platform's records). */
export interface RequestOutcome extends ItemOutcome {
  tenant: string;
  /** The team the request is billed to. */
  team: string;
  /** The route the request was decided on (the job result's, else the one asked, else the tenant's default). */
  route: string;
  /** The request's own cost budget, USD. */
  max_cost_usd: number;
  tier: string | null;
  finish_reason: string | null;
  decision_reasons: readonly string[];
  /** The pool question asked (a rewording's base question): the cluster of the paired F1 difference. */
  question_id: string;
  /** For a semantic-cache hit: whether the cached answer's source question has other gold answers (a false hit). */
  false_cache_hit: boolean;
}

/** The figures of one arm, as issue 11 §5 lists them. Rates are 0..1; NaN (null in JSON) when undefined. */
export interface ArmFigures {
  requests: number;
  completed: number;
  cost_usd: number;
  cost_per_1k_usd: number;
  quality: { f1_mean: number; exact_match: number };
  judge: { judged: number; pass_rate: number; kappa_vs_gold: number; precision_pass: number; recall_pass: number };
  hallucination_rate: number;
  cache: { hits: number; exact: number; semantic: number; hit_rate: number; false_hits: number; false_hit_rate: number };
  share_s_or_cache: number;
  served_by: Record<string, number>;
  /** SQuAD quality per way of serving (tier, cache, template, or final status): n, mean F1, EM, share with F1 ≥ 0.5. */
  quality_by_served: Record<string, { n: number; f1_mean: number; exact_match: number; correct_share: number }>;
  escalations: number;
  latency_ms: { p50: number; p95: number };
  budget: { overshoot_usd: number; request_overshoot_usd: number; scope_overshoot_usd: number };
  slo: { violations: number; by_class: Record<string, { requests: number; violations: number; objective_p95_ms: number }> };
}

const servedFromCache = (o: RequestOutcome) => o.decision_reasons.some((r) => r.endsWith('→serve_cache'));

/** How a completed request was served: `cache`, `template`, or its tier; else its final status. */
export function servedBy(o: RequestOutcome): string {
  if (o.status !== 'completed') return o.status;
  if (servedFromCache(o)) return 'cache';
  if (o.finish_reason === 'template') return 'template';
  return o.tier ?? 'unknown';
}

/** Escalations of a request: one less than the tiers the judge's cascade tried (`tiers_tried:S,M`), else 0. */
export function escalationsOf(o: RequestOutcome): number {
  const r = o.decision_reasons.find((x) => x.startsWith('tiers_tried:'));
  return r ? Math.max(0, r.slice('tiers_tried:'.length).split(',').filter(Boolean).length - 1) : 0;
}

/**
 * The figures of an arm. Definitions:
 * - cost: everything the cost ledger billed to the arm's jobs; per 1K requests.
 * - quality: SQuAD v1.1 EM and token F1 over every request (one that did not complete scores 0), libs/judging.
 * - judge: PASS rate over judged answers; Cohen's kappa, precision and recall of PASS against gold, where an answer is
 *   correct when its F1 ≥ 0.5 (issue 11 §1). The judge's weights are calibrated on another half of SQuAD (bench:judge),
 *   not on these answers.
 * - hallucination: a judged answer the judge did not pass AND whose F1 < 0.5 (libs/judging isHallucination); rate
 *   over judged answers.
 * - cache: answers served from either cache layer over requests; a false hit is a semantic hit whose cached answer
 *   came from a question with other gold answers (an exact hit asks the same text); rate over hits.
 * - share_s_or_cache: requests served by tier S or from a cache, over requests.
 * - latency: server-side, job created → completed (jobs table), over completed requests, nearest-rank percentiles.
 * - budget overshoot: spend above each request's max_cost_usd, plus spend above each budget of the governed policy
 *   over the arm's jobs (each run's tenants are new, so their spend starts at 0).
 * - SLO violations: requests that did not complete, or completed later than their route's SLO class p95 latency
 *   budget (the governed policy's classes, the service the users were promised, for both arms).
 */
export function armFigures(outcomes: readonly RequestOutcome[], governed: PolicyDocument): ArmFigures {
  const agg = aggregateEval(outcomes).overall;
  const scored = outcomes.map((o) => ({ o, ...scoreItem(o) }));
  const judged = scored.filter((s) => s.o.verdict !== null);
  const agreement = agreementFigures(confusion(judged.map((s) => ({ pass: s.o.verdict === 'PASS', correct: s.f1 >= CORRECT_F1 }))));
  const hits = outcomes.filter((o) => o.status === 'completed' && servedFromCache(o));
  const semantic = hits.filter((o) => o.decision_reasons.includes('semantic_cache_hit_meets_quality→serve_cache'));
  const falseHits = hits.filter((o) => o.false_cache_hit).length;
  const servedCounts: Record<string, number> = {};
  for (const o of outcomes) servedCounts[servedBy(o)] = (servedCounts[servedBy(o)] ?? 0) + 1;
  const qualityByServed: ArmFigures['quality_by_served'] = {};
  for (const x of scored) {
    const q = (qualityByServed[servedBy(x.o)] ??= { n: 0, f1_mean: 0, exact_match: 0, correct_share: 0 });
    q.n++;
    q.f1_mean += x.f1;
    q.exact_match += x.em;
    q.correct_share += x.f1 >= CORRECT_F1 ? 1 : 0;
  }
  for (const q of Object.values(qualityByServed)) {
    q.f1_mean /= q.n;
    q.exact_match /= q.n;
    q.correct_share /= q.n;
  }
  const n = outcomes.length;
  const requestOvershoot = outcomes.reduce((s, o) => s + Math.max(0, (o.cost_usd ?? 0) - o.max_cost_usd), 0);
  let scopeOvershoot = 0;
  for (const b of governed.budgets) {
    const spend = outcomes
      .filter((o) => o.tenant === b.tenant && (b.route === undefined || o.route === b.route) && (b.team === undefined || o.team === b.team))
      .reduce((s, o) => s + (o.cost_usd ?? 0), 0);
    scopeOvershoot += Math.max(0, spend - b.limit_usd);
  }
  const byClass: ArmFigures['slo']['by_class'] = {};
  let violations = 0;
  for (const o of outcomes) {
    const className = governed.tenants[o.tenant]?.routes[o.route]?.slo_class ?? 'unknown';
    const objective = governed.slo_classes[className]?.p95_latency_ms ?? Number.POSITIVE_INFINITY;
    const row = (byClass[className] ??= { requests: 0, violations: 0, objective_p95_ms: objective });
    row.requests++;
    const violated = o.status !== 'completed' || o.latency_ms === null || o.latency_ms > objective;
    if (violated) {
      row.violations++;
      violations++;
    }
  }
  return {
    requests: n,
    completed: agg.completed,
    cost_usd: agg.cost_usd,
    cost_per_1k_usd: agg.cost_per_1k_usd,
    quality: { f1_mean: agg.f1, exact_match: agg.exact_match },
    judge: {
      judged: agg.judged,
      pass_rate: agg.judge_pass_rate,
      kappa_vs_gold: agreement.kappa,
      precision_pass: agreement.precision,
      recall_pass: agreement.recall,
    },
    hallucination_rate: agg.hallucination_rate,
    cache: {
      hits: hits.length,
      exact: hits.filter((o) => o.decision_reasons.includes('exact_cache_hit_meets_quality→serve_cache')).length,
      semantic: semantic.length,
      hit_rate: n === 0 ? NaN : hits.length / n,
      false_hits: falseHits,
      false_hit_rate: hits.length === 0 ? NaN : falseHits / hits.length,
    },
    share_s_or_cache: n === 0 ? NaN : ((servedCounts.S ?? 0) + (servedCounts.cache ?? 0)) / n,
    served_by: servedCounts,
    quality_by_served: qualityByServed,
    escalations: outcomes.reduce((s, o) => s + escalationsOf(o), 0),
    latency_ms: { p50: agg.latency_p50_ms, p95: agg.latency_p95_ms },
    budget: { overshoot_usd: requestOvershoot + scopeOvershoot, request_overshoot_usd: requestOvershoot, scope_overshoot_usd: scopeOvershoot },
    slo: { violations, by_class: byClass },
  };
}

/** Seed 002's "after" figures (the issue's targets for a governed platform), for the table. */
export const SEED_002_AFTER = {
  cache_hit_rate: 0.38,
  share_s_or_cache: '55–70 %',
  cost_per_1k_usd: { before: 6.2, after: 3.7 },
  hallucination_rate: 0.021,
} as const;

/** Whether the governed arm meets issue 11's target against the baseline, each condition with its figures. */
export function targetCheck(baseline: ArmFigures, governed: ArmFigures) {
  const saving = 1 - governed.cost_per_1k_usd / baseline.cost_per_1k_usd;
  const f1Drop = baseline.quality.f1_mean - governed.quality.f1_mean;
  const checks = {
    cost_at_least_40pct_lower: { ok: saving >= 0.4, saving },
    f1_within_0_02: { ok: f1Drop <= 0.02, f1_drop: f1Drop },
    lower_hallucination_rate: {
      ok: governed.hallucination_rate < baseline.hallucination_rate,
      baseline: baseline.hallucination_rate,
      governed: governed.hallucination_rate,
    },
    zero_budget_overshoot: { ok: governed.budget.overshoot_usd === 0, overshoot_usd: governed.budget.overshoot_usd },
  };
  return { met: Object.values(checks).every((c) => c.ok), ...checks };
}

/**
 * The governed-minus-baseline F1 difference over the same requests (request i of both arms asked the same text), with
 * a 95 % confidence interval from a cluster bootstrap over the questions: requests of one popular question are not
 * independent (a cached answer repeats one draw of the model's answer many times), so whole questions are resampled,
 * `resamples` times, with the deterministic draws of `uniform` (percentile interval; Efron & Tibshirani 1993, ch. 13).
 * @throws RangeError when the arms differ in length or order.
 */
export function pairedF1Difference(
  baseline: readonly RequestOutcome[],
  governed: readonly RequestOutcome[],
  resamples = 2000,
  seed = 'f1-difference',
): { mean: number; ci95: [number, number]; questions: number } {
  if (baseline.length !== governed.length || baseline.some((b, i) => b.question_id !== governed[i]!.question_id))
    throw new RangeError('pairedF1Difference: the arms must hold the same requests in the same order');
  const byQuestion = new Map<string, { sum: number; n: number }>();
  baseline.forEach((b, i) => {
    const c = byQuestion.get(b.question_id) ?? { sum: 0, n: 0 };
    c.sum += scoreItem(governed[i]!).f1 - scoreItem(b).f1;
    c.n++;
    byQuestion.set(b.question_id, c);
  });
  const clusters = [...byQuestion.values()];
  const total = clusters.reduce((a, c) => ({ sum: a.sum + c.sum, n: a.n + c.n }), { sum: 0, n: 0 });
  if (total.n === 0) return { mean: NaN, ci95: [NaN, NaN], questions: 0 };
  const means: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    let n = 0;
    for (let k = 0; k < clusters.length; k++) {
      const c = clusters[Math.floor(uniform(seed, `${r}:${k}`) * clusters.length)]!;
      sum += c.sum;
      n += c.n;
    }
    means.push(sum / n);
  }
  means.sort((a, b) => a - b);
  const at = (q: number) => means[Math.min(means.length - 1, Math.max(0, Math.floor(q * means.length)))]!;
  return { mean: total.sum / total.n, ci95: [at(0.025), at(0.975)], questions: clusters.length };
}
