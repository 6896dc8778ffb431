/** Nearest-rank percentile (p in 0..100) of `values`; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** recall@k: share of questions whose gold document is among the first k retrieved documents. */
export function recallAtK(items: { gold: string; retrieved: string[] }[], k: number): number {
  if (items.length === 0) return 0;
  return items.filter((i) => i.retrieved.slice(0, k).includes(i.gold)).length / items.length;
}
