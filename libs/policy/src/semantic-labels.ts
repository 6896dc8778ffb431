import { createHash } from 'node:crypto';
import type { LabelledHit } from './semantic-cache.js';

/**
 * Labelled lookups for calibrating and measuring the semantic cache from a question-answering set with gold answers
 * (SQuAD in the demo). Pure code: the caller embeds the texts.
 *
 * How the set is made (ADR 0008, bench/README.md "Semantic cache"):
 * - questions are split in two halves by a stable hash of their paragraph (`splitOf`): `calibrate` and `evaluate`, so a
 *   threshold is measured on paragraphs it was not fitted on;
 * - within a half, the questions of each paragraph alternate between the **cache** (1st, 3rd, ...) and the
 *   **near-miss** queries (2nd, 4th, ...): a question about the same paragraph, usually with a different answer, which
 *   is the natural false hit;
 * - every cached question also comes back **reworded** (`reword`, a documented deterministic rewording): the same
 *   question asked another way, which should hit;
 * - each query is looked up against every cached question of its half (nearest neighbour by cosine); the lookup is
 *   correct when the neighbour's gold answers and the query's share one after SQuAD's answer normalisation
 *   (`sameAnswer`), so a near-miss whose answer happens to equal its neighbour's is a correct hit.
 */

/** A question with its gold answers; `group` is its paragraph (the unit of the split). */
export interface LabelledQuestion {
  id: string;
  text: string;
  answers: string[];
  group: string;
}

/** A lookup to make: its text, its gold answers, how it was made, and the cached question it was made from (rewordings). */
export interface LabelledQuery {
  id: string;
  text: string;
  answers: string[];
  kind: 'reworded' | 'near_miss';
  /** The cached question a rewording comes from; null for a near-miss. */
  sourceId: string | null;
}

/** SQuAD v1.1's answer normalisation: lower case, no punctuation, no articles (a, an, the), single spaces. */
export function normaliseAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, ' ')
    .replace(/\b(a|an|the)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** True when the two gold-answer lists share an answer after `normaliseAnswer` (empty answers never match). */
export function sameAnswer(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a.map(normaliseAnswer).filter((x) => x !== ''));
  return b.some((x) => {
    const n = normaliseAnswer(x);
    return n !== '' && set.has(n);
  });
}

const hash32 = (s: string): number => createHash('sha256').update(s).digest().readUInt32BE(0);

/** The half a paragraph belongs to, by a stable hash of its id: about half `calibrate`, half `evaluate`. */
export function splitOf(group: string): 'calibrate' | 'evaluate' {
  return hash32(`split:${group}`) % 2 === 0 ? 'calibrate' : 'evaluate';
}

/** Question-word substitutions a rewording may make (the first that applies), each keeping the question's meaning. */
const SUBSTITUTIONS: readonly [RegExp, string][] = [
  [/^How many\b/i, 'What number of'],
  [/^What year\b/i, 'In which year'],
  [/^Who\b/i, 'Which person'],
  [/^When\b/i, 'At what time'],
  [/^Where\b/i, 'In what place'],
  [/^Which\b/i, 'What'],
  [/^What is\b/i, "What's"],
  [/^What was\b/i, 'What would you say was'],
];

/** Wrappers a rewording puts around the question (`{q}` as asked, `{lc}` with a lower-case first letter). */
const WRAPPERS: readonly string[] = ['Can you tell me {lc}?', 'I would like to know {lc}.', 'Quick question: {q}?', '{q}?'];

/**
 * A deterministic rewording of a question, chosen by a hash of `seed` (the question's id): the first applicable
 * question-word substitution (How many → What number of, Who → Which person, When → At what time, Where → In what
 * place, Which → What, What year → In which year, What is → What's, What was → What would you say was), then one of
 * four wrappers ("Can you tell me …?", "I would like to know ….", "Quick question: …?", or none). Rewordings
 * made this way are easier than a person's paraphrases (the content words stay); ADR 0008 says what that means for the
 * threshold.
 */
export function reword(question: string, seed: string): string {
  const h = hash32(`reword:${seed}`);
  let q = question.trim().replace(/[?.!\s]+$/u, '');
  for (const [re, by] of SUBSTITUTIONS) {
    if (re.test(q)) {
      q = q.replace(re, by);
      break;
    }
  }
  // Never the identity: with no substitution the wrapper must change the text.
  const wrappers = q === question.trim().replace(/[?.!\s]+$/u, '') ? WRAPPERS.slice(0, 3) : WRAPPERS;
  const w = wrappers[h % wrappers.length]!;
  const lc = /^[A-Z][a-z]/.test(q) ? q[0]!.toLowerCase() + q.slice(1) : q;
  return w.replace('{q}', q).replace('{lc}', lc);
}

/**
 * Splits the questions of one half into the cache and the queries (see the module comment). Questions keep their order
 * within a paragraph; paragraphs keep theirs.
 */
export function buildLookupSet(questions: readonly LabelledQuestion[]): { cached: LabelledQuestion[]; queries: LabelledQuery[] } {
  const byGroup = new Map<string, LabelledQuestion[]>();
  for (const q of questions) {
    const g = byGroup.get(q.group);
    if (g) g.push(q);
    else byGroup.set(q.group, [q]);
  }
  const cached: LabelledQuestion[] = [];
  const queries: LabelledQuery[] = [];
  for (const qs of byGroup.values()) {
    qs.forEach((q, i) => {
      if (i % 2 === 0) {
        cached.push(q);
        queries.push({ id: `${q.id}~r`, text: reword(q.text, q.id), answers: q.answers, kind: 'reworded', sourceId: q.id });
      } else {
        queries.push({ id: q.id, text: q.text, answers: q.answers, kind: 'near_miss', sourceId: null });
      }
    });
  }
  return { cached, queries };
}

/** A lookup's nearest cached question and its label. */
export interface LabelledLookup extends LabelledHit {
  queryId: string;
  kind: LabelledQuery['kind'];
  neighbourId: string;
}

/**
 * Nearest cached question of every query by cosine similarity (vectors L2-normalised here, so any scale is fine), and
 * whether its answer is right for the query (`sameAnswer`). Brute force: |queries| × |cached| dot products.
 * @throws RangeError when a vector count does not match its list, dimensions differ, or the cache is empty.
 */
export function labelLookups(
  cached: readonly LabelledQuestion[],
  cachedVectors: readonly ArrayLike<number>[],
  queries: readonly LabelledQuery[],
  queryVectors: readonly ArrayLike<number>[],
): LabelledLookup[] {
  if (cached.length === 0) throw new RangeError('labelLookups: the cache is empty');
  if (cachedVectors.length !== cached.length || queryVectors.length !== queries.length) throw new RangeError('labelLookups: one vector per text');
  const d = cachedVectors[0]!.length;
  const unit = (v: ArrayLike<number>): Float64Array => {
    if (v.length !== d) throw new RangeError(`labelLookups: vector of ${v.length} dimensions, expected ${d}`);
    let s = 0;
    for (let i = 0; i < d; i++) s += v[i]! * v[i]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    const out = new Float64Array(d);
    for (let i = 0; i < d; i++) out[i] = v[i]! * inv;
    return out;
  };
  const matrix = cachedVectors.map(unit);
  return queries.map((q, qi) => {
    const v = unit(queryVectors[qi]!);
    let best = -Infinity;
    let at = 0;
    matrix.forEach((row, r) => {
      let s = 0;
      for (let i = 0; i < d; i++) s += row[i]! * v[i]!;
      if (s > best) {
        best = s;
        at = r;
      }
    });
    const n = cached[at]!;
    return { queryId: q.id, kind: q.kind, neighbourId: n.id, similarity: best, correct: sameAnswer(n.answers, q.answers) };
  });
}
