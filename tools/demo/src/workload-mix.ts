/**
 * The demo's mix of callers, shared with bench:governance: which policy route a SQuAD question is asked on and with
 * what budget, each chosen by a stable hash of the question's id (a follow-up `<id>~…` goes where its question went).
 */

/**
 * The policy route of a question, by a stable hash of its id: one in ten asks the fast support FAQ route, one in ten
 * the high-quality contract-review route, the rest the tenant's default route (squad-qa in infra/policies/local.yaml).
 */
export function routeFor(questionId: string): string | null {
  questionId = questionId.split('~')[0]!; // a follow-up goes where its question went
  const h = [...questionId].reduce((a, c) => (a * 17 + c.charCodeAt(0)) >>> 0, 11) % 10;
  return h === 0 ? 'support-faq' : h === 1 ? 'contract-review' : null;
}

/**
 * A spread of budgets like a real mix of callers, chosen by a stable hash of the question id: most jobs ask for
 * quality 0.5, one in five for 0.75 (routed to tier M), one in twenty for 0.95 (tier L).
 */
export function budgetFor(questionId: string): { latency_ms: number; max_cost_usd: number; min_quality: number } {
  questionId = questionId.split('~')[0]!;
  const h = [...questionId].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7) % 20;
  return { latency_ms: 120_000, max_cost_usd: 0.05, min_quality: h === 0 ? 0.95 : h <= 4 ? 0.75 : 0.5 };
}
