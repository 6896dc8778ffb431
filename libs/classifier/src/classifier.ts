import { normaliseText } from '@llmgov/guardrails';
import { complexityScore } from './complexity.js';
import { ClassifierError } from './errors.js';
import { riskScore } from './risk.js';
import { parseClassifierSettings, type ClassifierSettings } from './settings.js';
import { dotRow, meanDirection, unitVector } from './vectors.js';

/**
 * Embeds texts; vectors in input order, one per text, all of one length (any scale: the classifier normalises).
 * In the platform: `(texts) => client.embed(texts).then((r) => r.vectors)` with `OpenAIEmbeddingsClient` of
 * `@llmgov/embeddings`, the client and model the router embeds queries with, so examples and queries share one space.
 */
export type EmbedTexts = (texts: string[]) => Promise<ReadonlyArray<ArrayLike<number>>>;

/**
 * How an intent's score is computed from the cosine similarities between the query and its examples:
 * - `centroid`: cosine with the intent's centroid (mean of the unit example embeddings, renormalised);
 * - `knn`: the mean of the intent's `k` highest example cosines (all of them when it has fewer than `k` examples).
 *
 * `center: true` first subtracts the mean direction shared by all examples (the mean of the per-intent means of the unit
 * example vectors, so each intent weighs the same) from every unit example and query vector, and renormalises. Sentence
 * embeddings share a large common component (every pair of all-MiniLM-L6-v2 vectors has a positive cosine); removing
 * the common mean is the first step of "all-but-the-top" post-processing (Mu & Viswanath, ICLR 2018), and leaves the
 * directions that tell intents apart. The scores are then cosines in the centred space.
 */
export type IntentMethod = { kind: 'centroid'; center?: boolean } | { kind: 'knn'; k: number; center?: boolean };

/** The method `npm run bench:classifier` measured best on the labelled evaluation set (bench/README.md, "Classifier"). */
export const DEFAULT_INTENT_METHOD: IntentMethod = { kind: 'centroid', center: true };
/** Longest request text accepted, UTF-16 code units, before normalisation (the embeddings server's input limit). */
export const DEFAULT_MAX_TEXT_CHARS = 20_000;

export interface ClassifierOptions {
  method?: IntentMethod;
  /** Default {@link DEFAULT_MAX_TEXT_CHARS}. */
  maxTextChars?: number;
}

export interface ClassifyOptions {
  /** Injection score already computed upstream (the ingest-validator's `injection_score`), in 0..1. */
  injectionScore?: number;
}

/** One intent's score for a query: a cosine similarity in −1..1 (see {@link IntentMethod}). */
export interface IntentScore {
  intent: string;
  score: number;
}

/** The classifier's answer for one request; field names as the policy engine and the routed event carry them. */
export interface Classification {
  /** The best-scoring intent of the policy. Always one of the policy's intents: the policy decides what a low score means. */
  intent: string;
  /**
   * Its score: a cosine in −1..1, in the centred space by default (on the evaluation set with all-MiniLM-L6-v2: median
   * 0.27 for right answers, 0.12 for wrong ones; bench/README.md "Classifier").
   */
  intent_score: number;
  /** The second-best intent and its score; `intent_score − runner_up.score` is the margin. */
  runner_up: IntentScore;
  /**
   * Set when the best-scoring intent was high risk but not confidently close (its score under `high_risk_min_score`,
   * or its lead over the runner-up under `high_risk_min_margin`): that intent and its score. `intent` is then the best
   * intent that is not high risk, and `runner_up` the demoted one.
   */
  demoted_from?: IntentScore;
  /** In 0..1: `complexityScore` (formula in complexity.ts). */
  complexity: number;
  /** In 0..1: `riskScore` (noisy-OR of PII kinds, injection score and a high-risk intent; risk.ts). */
  risk: number;
  /** Rule ids behind `risk`, e.g. `pii_email`, `injection_score_0.8`, `high_risk_intent:contract-review`. */
  risk_reasons: string[];
}

/**
 * Classifies a request from its text and its ONE query embedding (the one the router already computed for retrieval;
 * the classifier never embeds a request). Build it once per policy version with {@link IntentClassifier.create}, which
 * embeds the policy's example utterances; `classify` is then synchronous CPU work: a cosine against each centroid or
 * example (intents × examples × dimensions multiply-adds) plus linear scans of the text for complexity and risk.
 */
export class IntentClassifier {
  /** Vector length of the examples; every query embedding must have it. */
  readonly dimensions: number;
  readonly method: IntentMethod;
  readonly maxTextChars: number;
  private readonly names: string[];
  private readonly highRisk: boolean[];
  /** centroid: one unit row per intent. knn: one unit row per example, intents' examples contiguous. */
  private readonly matrix: Float64Array;
  /** knn: row range [start, end) of intent i is [offsets[i], offsets[i + 1]). */
  private readonly offsets: number[];
  /** center: the common mean subtracted from every unit vector; undefined otherwise. */
  private readonly mean: Float64Array | undefined;
  private readonly scratch: Float64Array;

  private constructor(
    readonly settings: ClassifierSettings,
    exampleVectors: Float64Array[][],
    options: ClassifierOptions,
  ) {
    const method = options.method ?? DEFAULT_INTENT_METHOD;
    if (method.kind === 'knn' && !(Number.isInteger(method.k) && method.k >= 1)) {
      throw new ClassifierError('settings_invalid', `knn needs an integer k >= 1, got ${String(method.k)}`);
    }
    const maxTextChars = options.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
    if (!(Number.isInteger(maxTextChars) && maxTextChars >= 1))
      throw new ClassifierError('settings_invalid', `maxTextChars must be an integer >= 1, got ${maxTextChars}`);
    this.method = method;
    this.maxTextChars = maxTextChars;
    this.names = settings.intents.map((i) => i.name);
    this.highRisk = settings.intents.map((i) => i.high_risk === true);
    this.dimensions = exampleVectors[0]![0]!.length;
    const d = this.dimensions;
    if (method.center === true) {
      const mean = new Float64Array(d);
      for (const vs of exampleVectors) {
        for (const v of vs) for (let j = 0; j < d; j++) mean[j]! += v[j]! / vs.length / exampleVectors.length;
      }
      this.mean = mean;
      exampleVectors = exampleVectors.map((vs, i) =>
        vs.map((v, j) => this.centred(v, `intent "${this.names[i]}" example ${j} embedding, centred`, 'example_embedding_invalid')),
      );
    }
    const rows: Float64Array[] =
      method.kind === 'centroid'
        ? exampleVectors.map((vs, i) => {
            try {
              return meanDirection(vs);
            } catch (err) {
              throw new ClassifierError('example_embedding_invalid', `intent "${this.names[i]}": ${(err as Error).message}`);
            }
          })
        : exampleVectors.flat();
    this.matrix = new Float64Array(rows.length * d);
    rows.forEach((r, i) => this.matrix.set(r, i * d));
    this.offsets = [0];
    for (const vs of exampleVectors) this.offsets.push(this.offsets.at(-1)! + vs.length);
    this.scratch = new Float64Array(Math.max(...exampleVectors.map((vs) => vs.length)));
  }

  /**
   * Validates `settings`, embeds every example utterance in one `embed` call, and precomputes the centroids (or keeps the
   * unit example vectors for `knn`).
   * @throws ClassifierError `settings_invalid` (the settings or options, every problem listed), `example_embedding_invalid`
   *   (wrong count, differing lengths, NaN/Infinity, a zero vector, examples that cancel out; names the intent and example).
   *   Errors thrown by `embed` propagate unchanged.
   */
  static async create(settings: ClassifierSettings, embed: EmbedTexts, options: ClassifierOptions = {}): Promise<IntentClassifier> {
    const valid = parseClassifierSettings(settings);
    const texts = valid.intents.flatMap((i) => i.examples);
    const vectors = await embed(texts);
    if (!Array.isArray(vectors) || vectors.length !== texts.length) {
      throw new ClassifierError(
        'example_embedding_invalid',
        `the embedding function returned ${Array.isArray(vectors) ? vectors.length : typeof vectors} vectors for ${texts.length} examples`,
      );
    }
    return IntentClassifier.fromExampleEmbeddings(valid, regroup(valid, vectors), options);
  }

  /**
   * As {@link create}, from embeddings already computed: `embeddings[i][j]` is the vector of `settings.intents[i].examples[j]`.
   * @throws ClassifierError as {@link create}.
   */
  static fromExampleEmbeddings(
    settings: ClassifierSettings,
    embeddings: ReadonlyArray<ReadonlyArray<ArrayLike<number>>>,
    options: ClassifierOptions = {},
  ): IntentClassifier {
    const valid = parseClassifierSettings(settings);
    const codes = { dimension: 'example_embedding_invalid', finite: 'example_embedding_invalid', zero: 'example_embedding_invalid' } as const;
    let dimensions: number | undefined;
    const unit = valid.intents.map((intent, i) => {
      const vs = embeddings[i];
      if (vs === undefined || vs.length !== intent.examples.length) {
        throw new ClassifierError('example_embedding_invalid', `intent "${intent.name}": ${vs?.length ?? 0} embeddings for ${intent.examples.length} examples`);
      }
      return vs.map((v, j) => {
        const u = unitVector(v, `intent "${intent.name}" example ${j} embedding`, dimensions, codes);
        dimensions = u.length;
        return u;
      });
    });
    return new IntentClassifier(valid, unit, options);
  }

  /** The policy's intent names, in policy order. */
  get intents(): readonly string[] {
    return this.names;
  }

  /**
   * Every intent's score for a query embedding, best first (ties: policy order).
   * @throws ClassifierError `embedding_dimension_mismatch`, `embedding_not_finite`, `embedding_zero`.
   */
  intentScores(queryEmbedding: ArrayLike<number>): IntentScore[] {
    const scores = this.scoreAll(this.query(queryEmbedding));
    const order = this.names.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
    return order.map((i) => ({ intent: this.names[i]!, score: scores[i]! }));
  }

  /**
   * Classifies one request.
   * @param text the request's prompt as the router has it (already PII-masked upstream or not: both count as PII).
   * @param queryEmbedding the embedding of that text by the model the examples were embedded with.
   * @throws ClassifierError `text_invalid` (not a string), `text_too_long` (over `maxTextChars` before normalisation),
   *   `text_empty` (nothing left after guardrails `normaliseText`), `embedding_dimension_mismatch`,
   *   `embedding_not_finite`, `embedding_zero`, `signal_invalid` (an injection score outside 0..1).
   */
  classify(text: string, queryEmbedding: ArrayLike<number>, options: ClassifyOptions = {}): Classification {
    if (typeof text !== 'string') throw new ClassifierError('text_invalid', `text must be a string, got ${text === null ? 'null' : typeof text}`);
    if (text.length > this.maxTextChars)
      throw new ClassifierError('text_too_long', `text has ${text.length} characters, above the limit of ${this.maxTextChars}`);
    const normalised = normaliseText(text);
    if (normalised.length === 0) throw new ClassifierError('text_empty', 'text is empty after normalisation');
    const injection = options.injectionScore;
    if (injection !== undefined && !(typeof injection === 'number' && injection >= 0 && injection <= 1)) {
      throw new ClassifierError('signal_invalid', `injectionScore must be a number in 0..1, got ${String(injection)}`);
    }
    const scores = this.scoreAll(this.query(queryEmbedding));
    let best = 0;
    let second = -1;
    for (let i = 1; i < scores.length; i++) {
      if (scores[i]! > scores[best]!) {
        second = best;
        best = i;
      } else if (second < 0 || scores[i]! > scores[second]!) second = i;
    }
    if (second < 0) second = best === 0 ? 1 : 0; // unreachable with >= 2 intents; keeps the types honest
    let demoted: IntentScore | undefined;
    if (this.highRisk[best]! && !this.confidentHighRisk(scores[best]!, scores[second]!)) {
      // Not confidently close to a high-risk intent: the best intent that is not high risk takes the request.
      let fallback = -1;
      for (let i = 0; i < scores.length; i++) if (!this.highRisk[i]! && (fallback < 0 || scores[i]! > scores[fallback]!)) fallback = i;
      if (fallback >= 0) {
        demoted = { intent: this.names[best]!, score: scores[best]! };
        second = best;
        best = fallback;
      }
    }
    const risk = riskScore({
      text: normalised,
      intent: this.names[best]!,
      highRiskIntent: this.highRisk[best]!,
      ...(injection === undefined ? {} : { injectionScore: injection }),
    });
    return {
      intent: this.names[best]!,
      intent_score: scores[best]!,
      runner_up: { intent: this.names[second]!, score: scores[second]! },
      ...(demoted === undefined ? {} : { demoted_from: demoted }),
      complexity: complexityScore(normalised).score,
      risk: risk.risk,
      risk_reasons: risk.reasons,
    };
  }

  /**
   * Whether a high-risk best score is confident: `score ≥ high_risk_min_score` and `score − runnerUp ≥ high_risk_min_margin`
   * (defaults −1 and 0: always).
   */
  private confidentHighRisk(score: number, runnerUp: number): boolean {
    return score >= (this.settings.high_risk_min_score ?? -1) && score - runnerUp >= (this.settings.high_risk_min_margin ?? 0);
  }

  /** The unit query vector, centred when the method says so. */
  private query(queryEmbedding: ArrayLike<number>): Float64Array {
    const q = unitVector(queryEmbedding, 'query embedding', this.dimensions);
    return this.mean === undefined ? q : this.centred(q, 'query embedding, centred', 'embedding_zero');
  }

  /** unit(v − mean) for a unit vector v. @throws ClassifierError `code` when v is the mean itself. */
  private centred(v: Float64Array, what: string, code: 'example_embedding_invalid' | 'embedding_zero'): Float64Array {
    const mean = this.mean!;
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = v[i]! - mean[i]!;
    return unitVector(out, what, v.length, { dimension: code, finite: code, zero: code });
  }

  /** Scores per intent (policy order) for a unit query vector. */
  private scoreAll(q: Float64Array): number[] {
    const out = new Array<number>(this.names.length);
    if (this.method.kind === 'centroid') {
      for (let i = 0; i < out.length; i++) out[i] = clampCosine(dotRow(this.matrix, i, q));
      return out;
    }
    const k = this.method.k;
    for (let i = 0; i < out.length; i++) {
      const start = this.offsets[i]!;
      const n = this.offsets[i + 1]! - start;
      const sims = this.scratch.subarray(0, n);
      for (let j = 0; j < n; j++) sims[j] = dotRow(this.matrix, start + j, q);
      sims.sort(); // ascending; n is a policy's handful of examples per intent
      const take = Math.min(k, n);
      let s = 0;
      for (let j = n - take; j < n; j++) s += sims[j]!;
      out[i] = clampCosine(s / take);
    }
    return out;
  }
}

/** Rounding can put the dot product of two unit vectors a hair outside −1..1. */
const clampCosine = (x: number): number => Math.min(1, Math.max(-1, x));

/** The flat vectors of `create`'s one embed call, back into one list per intent. */
function regroup(settings: ClassifierSettings, flat: ReadonlyArray<ArrayLike<number>>): ArrayLike<number>[][] {
  let at = 0;
  return settings.intents.map((i) => flat.slice(at, (at += i.examples.length)));
}
