import { hashedBucket } from './hash.js';
import { ENGLISH_STOP_WORDS, tokenize } from './text.js';
import type { EmbeddingsClient, EmbeddingsResult } from './types.js';

export interface HashingEmbedderOptions {
  /** Output dimensions. Default 384. */
  dimensions?: number;
  /** Also hash character trigrams of each word (helps with inflections and typos). Default false. */
  charTrigrams?: boolean;
  /** Drop English stop words before building n-grams. Default true. */
  removeStopWords?: boolean;
  /** Per-family weights. Defaults: unigram 1, bigram 0.5, character trigram 0.5. */
  weights?: { unigram?: number; bigram?: number; charTrigram?: number };
}

export const HASHING_EMBEDDER_MODEL = 'local-hashing-ngram';
export const HASHING_EMBEDDER_VERSION = 'v1';

// Feature families live in separate namespaces so "new york" the bigram can never collide by
// construction with a unigram or a trigram of the same spelling.
const UNIGRAM = 'w\u0001';
const BIGRAM = 'b\u0001';
const TRIGRAM = 'c\u0001';
const WORD_START = '\u0002';
const WORD_END = '\u0003';

/**
 * A deterministic, model-free "embedder": signed feature hashing (Weinberger et al., "Feature
 * Hashing for Large Scale Multitask Learning", ICML 2009) of word unigrams and bigrams, and
 * optionally character trigrams, into a fixed number of dimensions, with sublinear term-frequency
 * weighting `1 + ln(tf)` (Manning, Raghavan & Schütze, "Introduction to Information Retrieval",
 * 2008, §6.4.1) and L2 normalisation, so cosine similarity equals the dot product.
 *
 * WHAT IT IS NOT: a semantic model. Two texts are close only when they share words (or word pairs,
 * or character trigrams). Synonyms, paraphrases and translations look unrelated ("car" vs
 * "automobile" has similarity ≈ 0). It exists so the platform runs end to end with no GPU and no
 * model weights; production points the embedder at a real model (`OpenAIEmbeddingsClient`).
 *
 * Hash collisions: with 384 dimensions distinct features share buckets; the random ±1 sign makes
 * collisions cancel in expectation rather than add up, keeping dot products unbiased.
 */
export class HashingEmbedder implements EmbeddingsClient {
  readonly dimensions: number;
  readonly model = HASHING_EMBEDDER_MODEL;
  /** `v1` for the default feature set; `v1+c3` when character trigrams are on (different space). */
  readonly modelVersion: string;
  private readonly charTrigrams: boolean;
  private readonly removeStopWords: boolean;
  private readonly wUni: number;
  private readonly wBi: number;
  private readonly wTri: number;

  constructor(options: HashingEmbedderOptions = {}) {
    const dimensions = options.dimensions ?? 384;
    if (!Number.isInteger(dimensions) || dimensions < 2 || dimensions > 65536) {
      throw new RangeError(`dimensions must be an integer in [2, 65536], got ${dimensions}`);
    }
    this.dimensions = dimensions;
    this.charTrigrams = options.charTrigrams ?? false;
    this.removeStopWords = options.removeStopWords ?? true;
    this.wUni = options.weights?.unigram ?? 1;
    this.wBi = options.weights?.bigram ?? 0.5;
    this.wTri = options.weights?.charTrigram ?? 0.5;
    const customWeights = options.weights !== undefined || !this.removeStopWords;
    this.modelVersion = HASHING_EMBEDDER_VERSION + (this.charTrigrams ? '+c3' : '') + (customWeights ? '+custom' : '');
  }

  async embed(texts: string[]): Promise<EmbeddingsResult> {
    let promptTokens = 0;
    const vectors = texts.map((text) => {
      const { vector, tokens } = this.embedOne(text);
      promptTokens += tokens;
      return vector;
    });
    return {
      vectors,
      model: this.model,
      modelVersion: this.modelVersion,
      dimensions: this.dimensions,
      usage: { prompt_tokens: promptTokens },
    };
  }

  /** Synchronous form of {@link embed} for one text. `tokens` counts words before stop-word removal. */
  embedOne(text: string): { vector: Float32Array; tokens: number } {
    const all = tokenize(text, { removeStopWords: false });
    const words = this.removeStopWords ? all.filter((t) => !ENGLISH_STOP_WORDS.has(t)) : all;

    const tf = new Map<string, number>();
    const bump = (feature: string): void => {
      tf.set(feature, (tf.get(feature) ?? 0) + 1);
    };
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      bump(UNIGRAM + w);
      if (i > 0) bump(BIGRAM + words[i - 1]! + ' ' + w);
      if (this.charTrigrams) {
        const padded = WORD_START + w + WORD_END;
        const chars = Array.from(padded); // code points, not UTF-16 units
        for (let j = 0; j + 3 <= chars.length; j++) bump(TRIGRAM + chars.slice(j, j + 3).join(''));
      }
    }

    const acc = new Float64Array(this.dimensions);
    for (const [feature, count] of tf) {
      const family = feature.slice(0, 2);
      const weight = family === UNIGRAM ? this.wUni : family === BIGRAM ? this.wBi : this.wTri;
      if (weight === 0) continue;
      const { index, sign } = hashedBucket(feature, this.dimensions);
      acc[index]! += sign * weight * (1 + Math.log(count));
    }

    let norm = 0;
    for (let i = 0; i < acc.length; i++) norm += acc[i]! * acc[i]!;
    norm = Math.sqrt(norm);
    const vector = new Float32Array(this.dimensions);
    if (norm > 0) for (let i = 0; i < acc.length; i++) vector[i] = acc[i]! / norm;
    return { vector, tokens: all.length };
  }
}
