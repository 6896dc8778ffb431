import { featureHash } from './hash.js';
import { tokenize } from './text.js';
import type { SparseVector } from './types.js';

export interface Bm25SparseEncoderOptions {
  /** Term-frequency saturation. Default 1.2. */
  k1?: number;
  /** Length normalisation strength in [0, 1]. Default 0.75. */
  b?: number;
  /**
   * Average document length of the corpus, in tokens after stop-word removal (the same tokens this
   * encoder counts). Default 100. Set it from the corpus; it only rescales long vs short documents.
   */
  avgDocLength?: number;
  /** log2 of the index space. Default 20 (indices in [0, 2^20)). */
  indexBits?: number;
  /** Drop English stop words. Default true. */
  removeStopWords?: boolean;
}

const TERM = 'w\u0001'; // same namespace as the unigram feature of the hashing embedder

/**
 * Encodes text as BM25-weighted sparse vectors for the lexical leg of hybrid search.
 *
 * Document side, per term t with frequency tf in a document of `len` tokens (Robertson &
 * Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", FnTIR 3(4), 2009):
 *
 *     value(t) = tf · (k1 + 1) / (tf + k1 · (1 − b + b · len / avgLen))
 *
 * Query side ({@link encodeQuery}): 1 per distinct term, so the dot product of a query and a
 * document sums the documents' saturated term frequencies over the shared terms.
 *
 * The IDF factor is NOT in these vectors: it depends on the whole collection and changes with every
 * write, so it is left to the store. Qdrant applies it at query time when the sparse vector is
 * configured with `modifier: "idf"`, which turns the dot product into the full BM25 score.
 *
 * Terms are the shared tokenizer's words (see `tokenize`), hashed into 2^indexBits buckets with
 * FNV-1a + fmix32, so the mapping is deterministic across processes and needs no vocabulary. Two
 * terms can share a bucket (rarely, at 2^20); their frequencies then add up before saturation.
 * No stemming: "invented" and "invention" are different terms.
 */
export class Bm25SparseEncoder {
  readonly k1: number;
  readonly b: number;
  readonly avgDocLength: number;
  readonly indexBits: number;
  private readonly removeStopWords: boolean;
  private readonly mask: number;

  constructor(options: Bm25SparseEncoderOptions = {}) {
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
    this.avgDocLength = options.avgDocLength ?? 100;
    this.indexBits = options.indexBits ?? 20;
    this.removeStopWords = options.removeStopWords ?? true;
    if (!(this.k1 >= 0)) throw new RangeError(`k1 must be >= 0, got ${this.k1}`);
    if (!(this.b >= 0 && this.b <= 1)) throw new RangeError(`b must be in [0, 1], got ${this.b}`);
    if (!(this.avgDocLength > 0)) throw new RangeError(`avgDocLength must be > 0, got ${this.avgDocLength}`);
    if (!Number.isInteger(this.indexBits) || this.indexBits < 1 || this.indexBits > 31) {
      throw new RangeError(`indexBits must be an integer in [1, 31], got ${this.indexBits}`);
    }
    this.mask = this.indexBits === 31 ? 0x7fffffff : (1 << this.indexBits) - 1;
  }

  /** Bucket of one (already normalised) term. */
  termIndex(term: string): number {
    return featureHash(TERM + term) & this.mask;
  }

  /** Document-side vector: BM25 term-frequency saturation per term, indices ascending. */
  encode(text: string): SparseVector {
    const tokens = tokenize(text, { removeStopWords: this.removeStopWords });
    const tf = this.termFrequencies(tokens);
    const len = tokens.length;
    const norm = this.k1 * (1 - this.b + (this.b * len) / this.avgDocLength);
    return toSparse(tf, (count) => (count * (this.k1 + 1)) / (count + norm));
  }

  /** Query-side vector: weight 1 per distinct term, indices ascending. */
  encodeQuery(text: string): SparseVector {
    const tokens = tokenize(text, { removeStopWords: this.removeStopWords });
    return toSparse(this.termFrequencies(tokens), () => 1);
  }

  private termFrequencies(tokens: string[]): Map<number, number> {
    const tf = new Map<number, number>();
    for (const token of tokens) {
      const index = this.termIndex(token);
      tf.set(index, (tf.get(index) ?? 0) + 1);
    }
    return tf;
  }
}

function toSparse(tf: Map<number, number>, weight: (count: number) => number): SparseVector {
  const indices = [...tf.keys()].sort((a, b) => a - b);
  return { indices, values: indices.map((i) => weight(tf.get(i)!)) };
}
