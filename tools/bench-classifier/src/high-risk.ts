import type { IntentScore } from '@llmgov/classifier';

/**
 * Calibration of the classifier's high-risk confidence floors (`high_risk_min_score`, `high_risk_min_margin`) on the
 * labelled evaluation set, and the figures before and after. Pure: it works on each row's intent scores (best first,
 * `IntentClassifier.intentScores`, computed once without floors) and replays the classifier's rule:
 *
 *     a best intent that is high risk is kept only when score ≥ min_score and score − runner-up ≥ min_margin;
 *     otherwise the best intent that is not high risk takes the request.
 */

/** One scored row: its true intent and every intent's score, best first. */
export interface ScoredRow {
  intent: string;
  scores: IntentScore[];
  /** SQuAD rows: their article (the false-high-risk figure is given for them). */
  article?: string;
}

export interface Floors {
  minScore: number;
  minMargin: number;
}

/** No floor: the classifier's behaviour without the settings. */
export const NO_FLOORS: Floors = { minScore: -1, minMargin: 0 };

/** The intent the classifier gives a row under `floors` (its rule, replayed on the row's scores). */
export function predictWithFloors(scores: readonly IntentScore[], highRisk: ReadonlySet<string>, floors: Floors): string {
  const [best, second] = scores;
  if (!best) throw new Error('a row without scores');
  if (!highRisk.has(best.intent)) return best.intent;
  const margin = best.score - (second?.score ?? -1);
  if (best.score >= floors.minScore && margin >= floors.minMargin) return best.intent;
  return scores.find((s) => !highRisk.has(s.intent))?.intent ?? best.intent;
}

/**
 * Splits rows into a calibration half and a test half, stratified by true intent: within each intent, in file order,
 * rows 0, 2, 4, … calibrate and rows 1, 3, 5, … are reported on. Deterministic, so every run reports on the same rows.
 */
export function splitHalves<T extends { intent: string }>(rows: readonly T[]): { calibration: T[]; test: T[] } {
  const seen = new Map<string, number>();
  const calibration: T[] = [];
  const test: T[] = [];
  for (const r of rows) {
    const i = seen.get(r.intent) ?? 0;
    seen.set(r.intent, i + 1);
    (i % 2 === 0 ? calibration : test).push(r);
  }
  return { calibration, test };
}

/** What floors do on a set of rows. */
export interface HighRiskFigures {
  rows: number;
  /** Rows of high-risk intents given their own intent (the high-risk recall's numerator) and their count. */
  highRiskKept: number;
  highRiskRows: number;
  /** Rows of other intents given a high-risk intent (false high risk), and their count. */
  falseHighRisk: number;
  otherRows: number;
  /** Of those, SQuAD rows (an `article`): false high risk and count. */
  squadFalseHighRisk: number;
  squadRows: number;
  /** Accuracy per true intent and overall. */
  perIntent: Record<string, { rows: number; correct: number; accuracy: number }>;
  accuracy: number;
}

export function figures(rows: readonly ScoredRow[], highRisk: ReadonlySet<string>, floors: Floors): HighRiskFigures {
  const out: HighRiskFigures = {
    rows: rows.length,
    highRiskKept: 0,
    highRiskRows: 0,
    falseHighRisk: 0,
    otherRows: 0,
    squadFalseHighRisk: 0,
    squadRows: 0,
    perIntent: {},
    accuracy: 0,
  };
  let correct = 0;
  for (const r of rows) {
    const predicted = predictWithFloors(r.scores, highRisk, floors);
    const p = (out.perIntent[r.intent] ??= { rows: 0, correct: 0, accuracy: 0 });
    p.rows++;
    if (predicted === r.intent) {
      p.correct++;
      correct++;
    }
    if (highRisk.has(r.intent)) {
      out.highRiskRows++;
      if (predicted === r.intent) out.highRiskKept++;
    } else {
      out.otherRows++;
      if (highRisk.has(predicted)) out.falseHighRisk++;
      if (r.article !== undefined) {
        out.squadRows++;
        if (highRisk.has(predicted)) out.squadFalseHighRisk++;
      }
    }
  }
  for (const p of Object.values(out.perIntent)) p.accuracy = p.rows === 0 ? 0 : Math.round((p.correct / p.rows) * 10_000) / 10_000;
  out.accuracy = rows.length === 0 ? 0 : Math.round((correct / rows.length) * 10_000) / 10_000;
  return out;
}

/** Score floors tried, 0.00 … 0.40 by 0.01; margin floors, 0.000 … 0.150 by 0.005. */
export const SCORE_GRID = Array.from({ length: 41 }, (_, i) => i / 100);
export const MARGIN_GRID = Array.from({ length: 31 }, (_, i) => (i * 5) / 1000);

/**
 * The floors, on the calibration rows only, that give the fewest false high-risk rows while keeping at least
 * `highRiskKept(no floors) − maxHighRiskLost` high-risk rows on their intent; ties go to more kept high-risk rows, then to
 * the lowest floors (the least intervention). Searched over {@link SCORE_GRID} × {@link MARGIN_GRID}.
 */
export function calibrateFloors(rows: readonly ScoredRow[], highRisk: ReadonlySet<string>, maxHighRiskLost = 1): { floors: Floors; figures: HighRiskFigures } {
  const base = figures(rows, highRisk, NO_FLOORS);
  let best: { floors: Floors; figures: HighRiskFigures } | undefined;
  for (const minScore of SCORE_GRID) {
    for (const minMargin of MARGIN_GRID) {
      const f = figures(rows, highRisk, { minScore, minMargin });
      if (f.highRiskKept < base.highRiskKept - maxHighRiskLost) continue;
      const better =
        best === undefined ||
        f.falseHighRisk < best.figures.falseHighRisk ||
        (f.falseHighRisk === best.figures.falseHighRisk && f.highRiskKept > best.figures.highRiskKept);
      if (better) best = { floors: { minScore, minMargin }, figures: f };
    }
  }
  return best ?? { floors: NO_FLOORS, figures: base };
}
