/**
 * The complexity score: a simple, deterministic, explainable estimate of how much work a request asks for, from surface
 * features of its text. Our own heuristic (no library scores request complexity); its weights are hand-set by this
 * project (November 2026), not fitted, and `npm run bench:classifier` reports the score per intent on the labelled
 * evaluation set so that the policy's `complexity_threshold` can be read against real figures.
 */

/** The features behind a complexity score, before weighting. */
export interface ComplexityFeatures {
  /** Words: runs of letters/digits, inner apostrophes kept (`don't` is one). Not model tokens. */
  words: number;
  /** Sentences or questions: pieces between `.`, `!`, `?`, `;` runs that end the text or precede white space. */
  units: number;
  /** Clause markers: commas plus connectives (then, also, however, whereas, while, because, unless, otherwise, ...). */
  clauses: number;
  /** Comparison, analysis and multi-hop cues (compare, versus, difference, pros and cons, why, explain, both, between, ...). */
  cues: number;
  /** Numbers: runs of digits, with `.` or `,` groups (`39.5`, `10,000` count once). */
  numbers: number;
}

export interface ComplexityResult {
  /** In 0..1, rounded to 4 decimals; see {@link complexityScore} for the formula. */
  score: number;
  features: ComplexityFeatures;
}

/** Weights of the four terms; they sum to 1, so the score stays in 0..1. */
export const COMPLEXITY_WEIGHTS = { length: 0.35, structure: 0.25, cues: 0.25, numbers: 0.15 } as const;
/** Words at which the length term saturates (about four ordinary sentences). */
export const COMPLEXITY_WORDS_CAP = 60;

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;
const UNIT_END = /[.!?;]+(?=\s|$)/g;
const CLAUSE = /,|\b(?:and then|then|also|additionally|furthermore|moreover|however|whereas|while|because|unless|otherwise|as well as)\b/gi;
const CUE =
  /\b(?:compar(?:e|es|ed|ing|ison|isons)|versus|vs|differences?|differ|distinguish|contrast|trade-?offs?|pros and cons|advantages?|disadvantages?|better|worse|relationship|impact|implications?|why|explain|analy[sz]e|analysis|evaluate|assess|step by step|both|respectively|between|whose)\b/gi;
const NUMBER = /\d+(?:[.,]\d+)*/g;

/** Non-overlapping matches of a global regex, counted without building an array of them. */
function countMatches(re: RegExp, text: string): number {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) n++;
  return n;
}

/** Sentences/questions: the pieces between terminators that contain a letter or digit (at least 1 for any text). */
function countUnits(text: string): number {
  let n = 0;
  let start = 0;
  UNIT_END.lastIndex = 0;
  const hasContent = (piece: string): boolean => /[\p{L}\p{N}]/u.test(piece);
  for (let m = UNIT_END.exec(text); m !== null; m = UNIT_END.exec(text)) {
    if (hasContent(text.slice(start, m.index))) n++;
    start = m.index + m[0].length;
  }
  if (hasContent(text.slice(start))) n++;
  return Math.max(1, n);
}

/** The raw features of `text` (see {@link ComplexityFeatures}). Linear in the text's length. */
export function complexityFeatures(text: string): ComplexityFeatures {
  return {
    words: countMatches(WORD, text),
    units: countUnits(text),
    clauses: countMatches(CLAUSE, text),
    cues: countMatches(CUE, text),
    numbers: countMatches(NUMBER, text),
  };
}

/**
 * Complexity in 0..1 of a request text, deterministic:
 *
 *     complexity = 0.35 · min(1, words / 60)
 *                + 0.25 · min(1, (units − 1 + 0.5 · clauses) / 3)
 *                + 0.25 · min(1, cues / 2)
 *                + 0.15 · min(1, numbers / 3)
 *
 * (features in {@link ComplexityFeatures}). A one-line factoid question scores mostly below 0.15 (SQuAD rows of the
 * evaluation set: p50 0.064, p90 0.122); a multi-part request with a comparison and figures scores above 0.5. Each term saturates, so no single feature (a pasted 10 000-word
 * document, a table of numbers) can push the score past its weight. Weights: {@link COMPLEXITY_WEIGHTS}.
 */
export function complexityScore(text: string): ComplexityResult {
  const f = complexityFeatures(text);
  const w = COMPLEXITY_WEIGHTS;
  const score =
    w.length * Math.min(1, f.words / COMPLEXITY_WORDS_CAP) +
    w.structure * Math.min(1, (f.units - 1 + 0.5 * f.clauses) / 3) +
    w.cues * Math.min(1, f.cues / 2) +
    w.numbers * Math.min(1, f.numbers / 3);
  return { score: Math.round(Math.min(1, Math.max(0, score)) * 10_000) / 10_000, features: f };
}
