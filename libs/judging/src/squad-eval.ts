/**
 * SQuAD v1.1 answer scoring, as the official evaluation script (`evaluate-v1.1.py`, Rajpurkar et al. 2016) defines it:
 * answers and gold answers are normalised (lower case, punctuation removed, the articles a/an/the removed, whitespace
 * collapsed); exact match is 1 when the normalised strings are equal; F1 is the harmonic mean of precision and recall
 * over the multiset of normalised tokens. A prediction scores the maximum over its question's gold answers. Written
 * here because no maintained npm package implements the official normalisation; it is a dozen lines.
 */

/** Python's `string.punctuation`, which the official script strips. */
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** The official `normalize_answer`: lower, remove punctuation, remove articles, fix whitespace. */
export function normalizeAnswer(s: string): string {
  const lower = s.toLowerCase();
  let noPunct = '';
  for (const ch of lower) if (!PUNCTUATION.has(ch)) noPunct += ch;
  return noPunct
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .join(' ');
}

/** 1 when the normalised prediction equals the normalised gold answer, else 0. */
export function exactMatch(prediction: string, gold: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

/** Token F1 between the normalised prediction and gold answer, in 0..1 (0 when either has no tokens). */
export function tokenF1(prediction: string, gold: string): number {
  const p = normalizeAnswer(prediction).split(' ').filter(Boolean);
  const g = normalizeAnswer(gold).split(' ').filter(Boolean);
  if (p.length === 0 || g.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of p) {
    const n = counts.get(t) ?? 0;
    if (n > 0) {
      common++;
      counts.set(t, n - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / g.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Exact match and F1 of one prediction: the maximum over the gold answers (0 and 0 when there are none). */
export function scoreAnswer(prediction: string, golds: readonly string[]): { em: number; f1: number } {
  let em = 0;
  let f1 = 0;
  for (const g of golds) {
    em = Math.max(em, exactMatch(prediction, g));
    f1 = Math.max(f1, tokenF1(prediction, g));
  }
  return { em, f1 };
}

export interface AnswerScores {
  /** Answers scored. */
  n: number;
  /** Mean exact match, 0..1. */
  exact_match: number;
  /** Mean token F1, 0..1. */
  f1: number;
}

/** Mean exact match and F1 over scored answers, overall and per group (e.g. tier). Empty input gives n 0 and NaN means. */
export function aggregateScores(items: readonly { group: string; em: number; f1: number }[]): {
  overall: AnswerScores;
  by_group: Record<string, AnswerScores>;
} {
  const mean = (xs: readonly { em: number; f1: number }[]): AnswerScores => ({
    n: xs.length,
    exact_match: xs.length === 0 ? NaN : xs.reduce((s, x) => s + x.em, 0) / xs.length,
    f1: xs.length === 0 ? NaN : xs.reduce((s, x) => s + x.f1, 0) / xs.length,
  });
  const groups = new Map<string, { em: number; f1: number }[]>();
  for (const i of items) groups.set(i.group, [...(groups.get(i.group) ?? []), i]);
  return { overall: mean(items), by_group: Object.fromEntries([...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, mean(v)])) };
}
