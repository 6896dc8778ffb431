export { percentile } from '@llmgov/observability';

/** recall@k: share of questions whose gold document is among the first k retrieved documents. */
export function recallAtK(items: { gold: string; retrieved: string[] }[], k: number): number {
  if (items.length === 0) return 0;
  return items.filter((i) => i.retrieved.slice(0, k).includes(i.gold)).length / items.length;
}
