/** Default constant of Reciprocal Rank Fusion, as chosen by Cormack, Clarke & Büttcher. */
export const RRF_K = 60;

export interface Fused<T> {
  item: T;
  score: number;
}

/**
 * Reciprocal Rank Fusion (Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms
 * Condorcet and individual Rank Learning Methods", SIGIR 2009):
 *
 *     score(d) = Σ_lists 1 / (k + rank_list(d)),   rank starting at 1,   k = 60
 *
 * Only ranks matter, so lists with incomparable scores (cosine similarity, BM25) fuse cleanly.
 * Optional per-list `weights` give weighted RRF, Σ w_list / (k + rank) (the form Qdrant and
 * Elasticsearch offer); without them every list weighs 1, as in the paper.
 * `key` identifies an item across lists; the first list that contains an item supplies the item.
 * Ties are broken by best single rank, then by first appearance, so the output is deterministic.
 */
export function reciprocalRankFusion<T>(
  lists: readonly (readonly T[])[],
  key: (item: T) => string,
  k: number = RRF_K,
  weights?: readonly number[],
): Fused<T>[] {
  if (!(k >= 0)) throw new RangeError(`k must be >= 0, got ${k}`);
  if (weights !== undefined && (weights.length !== lists.length || weights.some((w) => !(w >= 0)))) {
    throw new RangeError('weights must be one non-negative number per list');
  }
  const acc = new Map<string, { item: T; score: number; bestRank: number; order: number }>();
  let order = 0;
  lists.forEach((list, listIndex) => {
    const weight = weights?.[listIndex] ?? 1;
    const seen = new Set<string>();
    list.forEach((item, index) => {
      const id = key(item);
      if (seen.has(id)) return; // a duplicate inside one list counts once, at its best rank
      seen.add(id);
      const rank = index + 1;
      const entry = acc.get(id);
      if (entry) {
        entry.score += weight / (k + rank);
        entry.bestRank = Math.min(entry.bestRank, rank);
      } else {
        acc.set(id, { item, score: weight / (k + rank), bestRank: rank, order: order++ });
      }
    });
  });
  return [...acc.values()].sort((a, b) => b.score - a.score || a.bestRank - b.bestRank || a.order - b.order).map(({ item, score }) => ({ item, score }));
}
