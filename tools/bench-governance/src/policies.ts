import type { PolicyDocument } from '@llmgov/policy';

/** The two arms of the benchmark. */
export const ARMS = ['baseline', 'governed'] as const;
export type Arm = (typeof ARMS)[number];

/** A USD limit no baseline request reaches: the baseline governs no cost. */
const UNGOVERNED_MAX_COST_USD = 1;
/** A latency budget the capacity gate never acts on: the baseline never reroutes for a queue, ms. */
const UNGOVERNED_P95_LATENCY_MS = 3_600_000;

/**
 * The run's tenant for a tenant of the policy file, per arm. Each arm has its own tenants, so neither arm's caches,
 * budgets or index can serve the other, and a second run starts cold.
 */
export const armTenant = (run: string, arm: Arm, fileTenant: string): string => `gb${run}-${arm === 'baseline' ? 'base' : 'gov'}-${fileTenant}`;

/**
 * The two policy documents of a run, built from the governed policy file `doc`:
 * - `governed`: the file as it is, with its tenants (and their budgets) copied once per arm under the run's tenant
 *   names (armTenant), and without regression gates (a benchmark's versions are not evaluated on golden sets);
 * - `baseline`: the same tenants, routes, budgets and classifier, but every SLO class allows tier M only, with RAG, no
 *   cache and no escalation, and neither a cost limit nor a latency budget the gates would act on: "everything to tier
 *   M with RAG" (issue 11 §5).
 * Both documents hold both arms' tenants because the routers follow one namespace: the reservation limits are the
 * active version's (the governed one; the baseline's requests are pinned to their version with metadata
 * policy_version), so the two must carry the same budgets.
 * @throws Error when the file declares no tenant.
 */
export function armPolicies(doc: PolicyDocument, run: string): Record<Arm, PolicyDocument> {
  const fileTenants = Object.keys(doc.tenants);
  if (fileTenants.length === 0) throw new Error('the governed policy declares no tenant');
  const tenants: PolicyDocument['tenants'] = {};
  const budgets: PolicyDocument['budgets'] = [];
  for (const arm of ARMS) {
    for (const t of fileTenants) tenants[armTenant(run, arm, t)] = { ...doc.tenants[t]!, description: `bench:governance ${run} ${arm} (copy of ${t})` };
    for (const b of doc.budgets) if (fileTenants.includes(b.tenant)) budgets.push({ ...b, tenant: armTenant(run, arm, b.tenant) });
  }
  const { gates: _gates, ...rest } = doc;
  const governed: PolicyDocument = { ...rest, description: `bench:governance ${run}: governed (${doc.description ?? 'policy file'})`, tenants, budgets };
  const baselineClasses: PolicyDocument['slo_classes'] = {};
  for (const [name, c] of Object.entries(doc.slo_classes)) {
    const { escalation: _escalation, ...cls } = c;
    baselineClasses[name] = {
      ...cls,
      allowed_tiers: ['M'],
      rag_allowed: true,
      cache_allowed: false,
      cache_ttl_s: 0,
      max_cost_usd: UNGOVERNED_MAX_COST_USD,
      p95_latency_ms: UNGOVERNED_P95_LATENCY_MS,
    };
  }
  const baseline: PolicyDocument = {
    ...governed,
    description: `bench:governance ${run}: baseline, every request to tier M with RAG`,
    slo_classes: baselineClasses,
  };
  return { governed, baseline };
}
