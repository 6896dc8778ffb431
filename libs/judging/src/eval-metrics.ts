import { scoreAnswer } from './squad-eval.js';

/** The outcome of one golden item in an eval run, as the platform reported it. */
export interface ItemOutcome {
  intent: string | null;
  expected_answers: string[];
  /** Final job status: completed, failed, expired, cancelled, or not_final / submit_error when the eval gave up. */
  status: string;
  /** The answer served (job result text); null when the job did not complete. */
  answer: string | null;
  /** The judge's verdict (judged_results), null when no verdict was recorded (not judged, or not completed). */
  verdict: string | null;
  /** Cost billed to the job (cost ledger), USD; null when nothing was billed. */
  cost_usd: number | null;
  /** Server-side latency, job created → completed (jobs table), ms; null when not completed. */
  latency_ms: number | null;
}

/** The figures of a group of items (overall, or one intent). Rates are in 0..1; NaN when there is nothing to compute on. */
export interface EvalFigures {
  /** Items in the group. */
  n: number;
  /** Items whose job completed (an answer was served). */
  completed: number;
  /** Mean SQuAD exact match over all n items; an item without an answer scores 0. */
  exact_match: number;
  /** Mean SQuAD token F1 over all n items; an item without an answer scores 0. */
  f1: number;
  /** Items with a judge verdict. */
  judged: number;
  /** PASS verdicts / judged items. */
  judge_pass_rate: number;
  /** See {@link isHallucination}: hallucinations / judged items. */
  hallucination_rate: number;
  /** Total cost billed, USD, and per 1,000 items. */
  cost_usd: number;
  cost_per_1k_usd: number;
  /** p50 and p95 of server-side latency over completed items, ms (nearest-rank). */
  latency_p50_ms: number;
  latency_p95_ms: number;
}

/** The F1 below which an answer counts as wrong against gold: issue 11's "correct when token F1 ≥ 0.5". */
export const CORRECT_F1 = 0.5;

/**
 * A hallucination, as `llmgov eval` counts it: a judged answer that the judge did NOT pass (any verdict other than
 * PASS: the judge found it unsupported by its retrieved context, FALLBACK, or failed it, FAIL_*) AND that is confirmed
 * wrong against gold: its SQuAD token F1 against the expected answers is below {@link CORRECT_F1} (0.5). An answer the
 * judge doubted but that matches gold is not one (a judge false alarm); an unjudged item is never one. The rate divides
 * by judged items.
 */
export function isHallucination(verdict: string | null, f1: number): boolean {
  return verdict !== null && verdict !== 'PASS' && f1 < CORRECT_F1;
}

/** Nearest-rank percentile (p in 0..100) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Scores one item: SQuAD EM and F1 of its answer against its expected answers (0 and 0 without an answer). */
export function scoreItem(o: ItemOutcome): { em: number; f1: number } {
  return o.answer === null ? { em: 0, f1: 0 } : scoreAnswer(o.answer, o.expected_answers);
}

function figures(items: readonly (ItemOutcome & { em: number; f1: number })[]): EvalFigures {
  const n = items.length;
  const completed = items.filter((i) => i.status === 'completed');
  const judged = items.filter((i) => i.verdict !== null);
  const cost = items.reduce((s, i) => s + (i.cost_usd ?? 0), 0);
  const lat = completed.map((i) => i.latency_ms).filter((x): x is number => x !== null && Number.isFinite(x));
  const mean = (f: (i: (typeof items)[number]) => number) => (n === 0 ? NaN : items.reduce((s, i) => s + f(i), 0) / n);
  return {
    n,
    completed: completed.length,
    exact_match: mean((i) => i.em),
    f1: mean((i) => i.f1),
    judged: judged.length,
    judge_pass_rate: judged.length === 0 ? NaN : judged.filter((i) => i.verdict === 'PASS').length / judged.length,
    hallucination_rate: judged.length === 0 ? NaN : judged.filter((i) => isHallucination(i.verdict, i.f1)).length / judged.length,
    cost_usd: cost,
    cost_per_1k_usd: n === 0 ? NaN : (cost / n) * 1000,
    latency_p50_ms: percentile(lat, 50),
    latency_p95_ms: percentile(lat, 95),
  };
}

/** Overall and per-intent figures (intent `-` for items without one), intents sorted by name. */
export function aggregateEval(outcomes: readonly ItemOutcome[]): { overall: EvalFigures; by_intent: Record<string, EvalFigures> } {
  const scored = outcomes.map((o) => ({ ...o, ...scoreItem(o) }));
  const groups = new Map<string, typeof scored>();
  for (const s of scored) groups.set(s.intent ?? '-', [...(groups.get(s.intent ?? '-') ?? []), s]);
  return {
    overall: figures(scored),
    by_intent: Object.fromEntries([...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, figures(v)])),
  };
}
