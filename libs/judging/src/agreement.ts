import { createHash } from 'node:crypto';
import { combineScores, type CompletionScores, type JudgeWeights } from './scores.js';

/** A 2x2 confusion table of judge PASS against the human label "correct". Counts. */
export interface Confusion {
  /** judge PASS, label correct */
  tp: number;
  /** judge PASS, label incorrect */
  fp: number;
  /** judge not PASS, label correct */
  fn: number;
  /** judge not PASS, label incorrect */
  tn: number;
}

export interface AgreementFigures extends Confusion {
  n: number;
  /** Share of items where judge and label agree (0..1). */
  observed_agreement: number;
  /** Cohen's kappa (Cohen 1960): (p_o - p_e) / (1 - p_e); NaN when p_e = 1 (both raters use one class only: undefined). */
  kappa: number;
  /** Precision of PASS: tp / (tp + fp); NaN with no PASS. */
  precision: number;
  /** Recall of PASS: tp / (tp + fn); NaN with no correct item. */
  recall: number;
}

/** Confusion table of `(pass, correct)` pairs. */
export function confusion(pairs: readonly { pass: boolean; correct: boolean }[]): Confusion {
  const c: Confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const { pass, correct } of pairs) {
    if (pass && correct) c.tp++;
    else if (pass) c.fp++;
    else if (correct) c.fn++;
    else c.tn++;
  }
  return c;
}

/** Cohen's kappa, observed agreement, precision and recall of PASS from a confusion table. */
export function agreementFigures(c: Confusion): AgreementFigures {
  const n = c.tp + c.fp + c.fn + c.tn;
  const po = n === 0 ? NaN : (c.tp + c.tn) / n;
  const pe = n === 0 ? NaN : ((c.tp + c.fp) * (c.tp + c.fn) + (c.fn + c.tn) * (c.fp + c.tn)) / (n * n);
  const kappa = pe === 1 ? NaN : (po - pe) / (1 - pe);
  return {
    ...c,
    n,
    observed_agreement: po,
    kappa,
    precision: c.tp + c.fp === 0 ? NaN : c.tp / (c.tp + c.fp),
    recall: c.tp + c.fn === 0 ? NaN : c.tp / (c.tp + c.fn),
  };
}

/**
 * Which split an item belongs to, from its id alone: `calibration` when the first 32 bits of SHA-256(seed:id) mod 100 <
 * `calibrationPercent`,
 * else `evaluation`. Deterministic and independent of order, so the same question never moves between splits.
 */
export function splitOf(id: string, calibrationPercent: number, seed = 'judge-split'): 'calibration' | 'evaluation' {
  return createHash('sha256').update(`${seed}:${id}`).digest().readUInt32BE(0) % 100 < calibrationPercent ? 'calibration' : 'evaluation';
}

/** One labelled answer: the judge's raw scores and the human label. */
export interface LabelledScores {
  id: string;
  scores: Pick<CompletionScores, 'lexical' | 'semantic' | 'relevance' | 'completeness' | 'refusal'>;
  /** The human label: token F1 against the gold answers >= 0.5. */
  correct: boolean;
}

/** Whether the judge passes `item` under `w` (refusals never pass, as in decideVerdict). */
export function passes(item: LabelledScores, w: JudgeWeights): boolean {
  if (item.scores.refusal) return false;
  return combineScores(item.scores, w).quality >= w.threshold;
}

/** Agreement figures of the judge under `w` on `items`. */
export function evaluateWeights(items: readonly LabelledScores[], w: JudgeWeights): AgreementFigures {
  return agreementFigures(confusion(items.map((i) => ({ pass: passes(i, w), correct: i.correct }))));
}

/**
 * The weights with the highest Cohen's kappa on `items` (the calibration split), by exhaustive grid search: semantic
 * share and the three weights in steps of `step` (weights summing to 1), thresholds in steps of 0.01. Ties keep the first
 * found (the grid order is fixed, so the result is deterministic).
 * @throws Error when the labels hold a single class. A grid rather than an optimiser: kappa is a step
 * function of the threshold, with no gradient.
 */
export function calibrate(items: readonly LabelledScores[], version: string, step = 0.1): { weights: JudgeWeights; figures: AgreementFigures } {
  const positives = items.filter((i) => i.correct).length;
  if (positives === 0 || positives === items.length) throw new Error('calibrate: the labels hold a single class (or none); kappa is undefined');
  const steps = Math.round(1 / step);
  let best: { weights: JudgeWeights; figures: AgreementFigures } | undefined;
  for (let s = 0; s <= steps; s++) {
    for (let f = 0; f <= steps; f++) {
      for (let r = 0; r <= steps - f; r++) {
        const base = { version, semantic_share: s / steps, w_faithfulness: f / steps, w_relevance: r / steps, w_completeness: (steps - f - r) / steps };
        const qualities = items.map((i) => (i.scores.refusal ? -1 : combineScores(i.scores, { ...base, threshold: 0 }).quality));
        for (let t = 1; t <= 100; t++) {
          const threshold = t / 100;
          const figures = agreementFigures(confusion(items.map((i, k) => ({ pass: qualities[k]! >= threshold, correct: i.correct }))));
          if (!Number.isNaN(figures.kappa) && (best === undefined || figures.kappa > best.figures.kappa)) best = { weights: { ...base, threshold }, figures };
        }
      }
    }
  }
  if (!best) throw new Error('calibrate: no weights give a defined kappa');
  return best;
}

/** Human labels compared with judge verdicts, as a 2x2 table: human label (GOOD/BAD) x (verdict is PASS). Counts. */
export interface LabelAgreementTable {
  goodPass: number;
  goodNotPass: number;
  badPass: number;
  badNotPass: number;
}

/** Judge-vs-human agreement over labels that have a verdict (the feedback-labeler's `agreement()`, the CLI, the metric). */
export interface LabelAgreementStats {
  /** Labels compared (count). */
  compared: number;
  /** Labels that agree with the judge (count). */
  agreed: number;
  /** agreed / compared (0..1), null when nothing was compared. */
  rate: number | null;
  /**
   * Cohen's kappa (Cohen 1960): (p_o - p_e) / (1 - p_e), with p_o the observed agreement rate and
   * p_e = P(GOOD)·P(PASS) + P(BAD)·P(not PASS) the agreement expected by chance from the marginals.
   * -1..1 (1 perfect, 0 chance level); null when nothing was compared or p_e = 1 (one class only on both sides).
   */
  kappa: number | null;
}

/** Agreement rate and Cohen's kappa of a label table (rounded to 4 decimals), from {@link agreementFigures}. */
export function labelAgreementStats(t: LabelAgreementTable): LabelAgreementStats {
  const f = agreementFigures({ tp: t.goodPass, fp: t.badPass, fn: t.goodNotPass, tn: t.badNotPass });
  if (f.n === 0) return { compared: 0, agreed: 0, rate: null, kappa: null };
  const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
  return { compared: f.n, agreed: f.tp + f.tn, rate: round4(f.observed_agreement), kappa: Number.isNaN(f.kappa) ? null : round4(f.kappa) };
}
