/**
 * Retrieval figures over ranked lists of chunks. A chunk belongs to one paragraph (its `documentId`); a question is
 * answered by one gold paragraph. The ranked chunks are reduced to their distinct paragraphs in rank order (a
 * paragraph split into several chunks counts once, at its best chunk), and the gold paragraph's rank in that list
 * is what recall@n and MRR read.
 */

/**
 * 1-based rank of `gold` among the distinct paragraphs of the ranked chunks' `documentIds`, or 0 when absent.
 * Example: chunks of paragraphs [p1, p1, p3, p2] with gold p2 → paragraphs [p1, p3, p2] → rank 3.
 */
export function goldRank(documentIds: readonly string[], gold: string): number {
  const seen = new Set<string>();
  for (const id of documentIds) {
    if (seen.has(id)) continue;
    seen.add(id);
    if (id === gold) return seen.size;
  }
  return 0;
}

/** Recall and MRR of one retrieval setting over a set of questions; all fractions in [0, 1]. */
export interface RetrievalScores {
  questions: number;
  /** Share of questions whose gold paragraph is the first distinct paragraph. */
  recallAt1: number;
  /** … among the first 5 distinct paragraphs of the top-10 chunks. */
  recallAt5: number;
  /** … among the distinct paragraphs of the top-10 chunks. */
  recallAt10: number;
  /** Mean of 1/rank over questions (0 when the gold paragraph is not in the top-10 chunks): MRR@10. */
  mrrAt10: number;
  /**
   * Share of questions whose gold paragraph is among the paragraphs of the first 5 chunks themselves: what a
   * RAG prompt with 5 chunks of context (the router's `RETRIEVAL_K` default) would contain. Equal to recallAt5
   * when every paragraph is one chunk, lower when one paragraph's chunks fill several of the 5 places.
   */
  recallAt5Chunks: number;
}

/** Accumulates one retrieval setting's results question by question. */
export class ScoreAccumulator {
  private n = 0;
  private at1 = 0;
  private at5 = 0;
  private at10 = 0;
  private reciprocal = 0;
  private at5Chunks = 0;

  /**
   * Adds one question: `documentIds` of the retrieved chunks in rank order (the top 10 are read), and the gold
   * paragraph's id.
   */
  add(documentIds: readonly string[], gold: string): void {
    const top10 = documentIds.slice(0, 10);
    const rank = goldRank(top10, gold);
    this.n += 1;
    if (rank === 1) this.at1 += 1;
    if (rank >= 1 && rank <= 5) this.at5 += 1;
    if (rank >= 1) {
      this.at10 += 1;
      this.reciprocal += 1 / rank;
    }
    if (top10.slice(0, 5).includes(gold)) this.at5Chunks += 1;
  }

  scores(): RetrievalScores {
    const share = (x: number): number => (this.n === 0 ? 0 : x / this.n);
    return {
      questions: this.n,
      recallAt1: share(this.at1),
      recallAt5: share(this.at5),
      recallAt10: share(this.at10),
      mrrAt10: share(this.reciprocal),
      recallAt5Chunks: share(this.at5Chunks),
    };
  }
}

/**
 * The p-th percentile (0 < p ≤ 100) of `values` by the nearest-rank method: the ⌈p/100 · n⌉-th smallest value
 * (so p50 of [1, 2, 3, 4] is 2 and p95 of 20 values is the 19th). NaN for an empty list.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
