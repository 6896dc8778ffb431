import type { PolicyDocument, PolicyTier } from './schema.js';

/** Where a judged answer comes from: the request's tenant, its policy route (null: none) and the tier that answered. */
export interface JudgedAnswerScope {
  tenant: string;
  route: string | null;
  tier: PolicyTier;
}

/**
 * The share (0..1) of answers like this one that the LLM judge sees, as the policy says: the route's own
 * `tenants.T.routes.R.judge.llm_sample` when it has one, else the tier's `judge.llm_sample.<tier>`; undefined when the
 * policy says neither (the judge then keeps its own setting, default `JUDGE_LLM_SAMPLE_DEFAULTS`).
 * Pure: no I/O.
 */
export function policyLlmSampleRate(policy: PolicyDocument, at: JudgedAnswerScope): number | undefined {
  const route = at.route === null ? undefined : policy.tenants[at.tenant]?.routes[at.route];
  return route?.judge?.llm_sample ?? policy.judge?.llm_sample?.[at.tier];
}
