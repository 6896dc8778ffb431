import type { PolicyGate } from './schema.js';

/**
 * The figures of one eval run that a gate compares, all rates in 0..1 over the run's scored items (see
 * `llmgov eval`): mean exact match and token F1 (SQuAD v1.1 official scoring, squad-eval.ts), the judge's PASS rate and
 * the hallucination rate. A rate is NaN when the run had nothing to compute it on.
 */
export interface GateFigures {
  exact_match: number;
  f1: number;
  judge_pass_rate: number;
  hallucination_rate: number;
}

/** One metric a gate checks: the active (baseline) and candidate figures, the allowed change and whether it holds. */
export interface GateCheck {
  metric: keyof GateFigures;
  baseline: number;
  candidate: number;
  /** candidate − baseline. */
  delta: number;
  /** The tolerance: the largest allowed drop (for F1, exact match, PASS rate) or rise (hallucination rate). */
  tolerance: number;
  /** 'drop' when lower is worse, 'increase' when higher is worse. */
  worse_when: 'drop' | 'increase';
  passed: boolean;
}

export interface GateOutcome {
  golden: string;
  passed: boolean;
  checks: GateCheck[];
}

/**
 * Compares a candidate's eval figures with the baseline's (the active version's) under one gate. A metric regresses
 * when it is worse than the baseline by more than its tolerance (a drop for F1, exact match and the PASS rate; a rise
 * for the hallucination rate). Tolerances are absolute differences of rates, so `max_f1_drop: 0.02` allows F1 0.70 →
 * 0.68 and refuses 0.70 → 0.6799. A figure that is NaN on either side (nothing scored) fails its check: a gate cannot
 * be passed without evidence. A tiny epsilon (1e-9) absorbs floating-point error at the boundary.
 */
export function checkGate(gate: PolicyGate, baseline: GateFigures, candidate: GateFigures): GateOutcome {
  const specs: { metric: keyof GateFigures; tolerance: number | undefined; worse_when: 'drop' | 'increase' }[] = [
    { metric: 'f1', tolerance: gate.max_f1_drop, worse_when: 'drop' },
    { metric: 'exact_match', tolerance: gate.max_exact_match_drop, worse_when: 'drop' },
    { metric: 'judge_pass_rate', tolerance: gate.max_judge_pass_rate_drop, worse_when: 'drop' },
    { metric: 'hallucination_rate', tolerance: gate.max_hallucination_rate_increase, worse_when: 'increase' },
  ];
  const checks: GateCheck[] = [];
  for (const s of specs) {
    if (s.tolerance === undefined) continue;
    const b = baseline[s.metric];
    const c = candidate[s.metric];
    const delta = c - b;
    const worsening = s.worse_when === 'drop' ? -delta : delta;
    const passed = Number.isFinite(b) && Number.isFinite(c) && worsening <= s.tolerance + 1e-9;
    checks.push({ metric: s.metric, baseline: b, candidate: c, delta, tolerance: s.tolerance, worse_when: s.worse_when, passed });
  }
  return { golden: gate.golden, passed: checks.every((c) => c.passed), checks };
}

/** One line per failed check, e.g. `f1 0.712 → 0.655 (drop 0.057 > allowed 0.020)`. */
export function describeGateFailures(outcome: GateOutcome): string[] {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  return outcome.checks
    .filter((c) => !c.passed)
    .map((c) => {
      const change = c.worse_when === 'drop' ? -c.delta : c.delta;
      return `${c.metric} ${f(c.baseline)} → ${f(c.candidate)} (${c.worse_when} ${f(change)} > allowed ${f(c.tolerance)})`;
    });
}
