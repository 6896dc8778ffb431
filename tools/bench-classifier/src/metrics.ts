/** Nearest-rank percentile (p in 0..100) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export interface Distribution {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** p50/p95/p99/max by nearest rank, rounded to `digits` decimals. */
export function distribution(values: readonly number[], digits = 4): Distribution {
  const r = (x: number): number => Math.round(x * 10 ** digits) / 10 ** digits;
  return { n: values.length, p50: r(percentile(values, 50)), p95: r(percentile(values, 95)), p99: r(percentile(values, 99)), max: r(percentile(values, 100)) };
}

export interface AccuracyReport {
  /** Correct ÷ all rows. */
  overall: number;
  /** Mean of the per-intent accuracies (each intent weighs the same whatever its row count). */
  macro: number;
  /** Per true intent: rows, correct, accuracy (= recall of that intent), precision (correct ÷ rows predicted as it). */
  perIntent: Record<string, { rows: number; correct: number; accuracy: number; precision: number }>;
  /** confusion[true][predicted] = rows; every intent present on both axes, in `intents` order. */
  confusion: Record<string, Record<string, number>>;
}

/**
 * Accuracy per intent and overall, and the confusion matrix, of predictions against true labels.
 * @throws Error when the two lists differ in length or a label is not in `intents`.
 */
export function accuracyReport(intents: readonly string[], truth: readonly string[], predicted: readonly string[]): AccuracyReport {
  if (truth.length !== predicted.length) throw new Error(`${truth.length} labels but ${predicted.length} predictions`);
  const confusion: Record<string, Record<string, number>> = {};
  for (const t of intents) confusion[t] = Object.fromEntries(intents.map((p) => [p, 0]));
  truth.forEach((t, i) => {
    const p = predicted[i]!;
    const row = confusion[t];
    if (row === undefined || !(p in row)) throw new Error(`label "${t}" or prediction "${p}" is not an intent`);
    row[p]! += 1;
  });
  const r4 = (x: number): number => Math.round(x * 10_000) / 10_000;
  const perIntent: AccuracyReport['perIntent'] = {};
  for (const t of intents) {
    const rows = Object.values(confusion[t]!).reduce((a, b) => a + b, 0);
    const correct = confusion[t]![t]!;
    const predictedAs = intents.reduce((a, o) => a + confusion[o]![t]!, 0);
    perIntent[t] = { rows, correct, accuracy: rows === 0 ? 0 : r4(correct / rows), precision: predictedAs === 0 ? 0 : r4(correct / predictedAs) };
  }
  const correct = intents.reduce((a, t) => a + confusion[t]![t]!, 0);
  const withRows = intents.filter((t) => perIntent[t]!.rows > 0);
  return {
    overall: truth.length === 0 ? 0 : r4(correct / truth.length),
    macro: withRows.length === 0 ? 0 : r4(withRows.reduce((a, t) => a + perIntent[t]!.accuracy, 0) / withRows.length),
    perIntent,
    confusion,
  };
}
