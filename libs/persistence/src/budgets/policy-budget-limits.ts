import { BUDGET_PERIOD_KINDS, MAX_MICRO_USD, usdToMicroUsd, type BudgetPeriodKind } from '@llmgov/billing';
import type { PolicyBudget } from '@llmgov/policy';
import { scopeKeyPart, type BudgetScope } from './budget-scope.js';
import { DEFAULT_ALERT_AT, DEFAULT_THROTTLE, type BudgetLimitSource, type RedisBudgetLimits, type ScopeLimit } from './budget-limits.js';

/** The policy version a {@link PolicyBudgetLimits} holds the budgets of. */
export interface PolicyLimitsVersion {
  namespace: string;
  version: number;
}

/**
 * The scope a policy budget entry applies to: the tenant, one of its teams, or one of its routes. The policy schema
 * refuses an entry narrowed to both a team and a route (the counters are per tenant, team and route; ADR 0007).
 */
export function policyBudgetScope(b: Pick<PolicyBudget, 'team' | 'route'>): BudgetScope {
  if (b.team !== undefined && b.route !== undefined) throw new Error('a budget narrowed to both a team and a route has no counter');
  if (b.team !== undefined) return { kind: 'team', name: b.team };
  if (b.route !== undefined) return { kind: 'route', name: b.route };
  return { kind: 'tenant' };
}

/**
 * The limits a policy document's `budgets` declare, per tenant, labelled with the version they come from. Limits
 * above MAX_MICRO_USD (2.25 billion USD) are held at it: no counter can reach it anyway.
 */
export function policyScopeLimits(budgets: readonly PolicyBudget[], from: PolicyLimitsVersion): ({ tenant: string } & ScopeLimit)[] {
  const origin = { kind: 'policy' as const, namespace: from.namespace, version: from.version };
  return budgets.map((b) => ({
    tenant: b.tenant,
    scope: policyBudgetScope(b),
    period: b.period,
    limitMicroUsd: b.limit_usd * 1e6 > MAX_MICRO_USD ? MAX_MICRO_USD : usdToMicroUsd(b.limit_usd),
    alertAt: b.alert_at,
    throttle: b.throttle,
    origin,
  }));
}

const key = (scope: BudgetScope, period: BudgetPeriodKind) => `${scopeKeyPart(scope)}|${period}`;

/**
 * The budgets of the active policy version of the namespace a process follows, in memory. That process (the router's
 * ActivePolicySource, the cost-attributor's PolicyBudgetsFollower, the CLI reading Postgres) calls {@link apply} with
 * each version it loads; nothing is written anywhere, so a policy activated in another namespace (a test's) can never
 * change these limits. Until a version is applied it holds none.
 */
export class PolicyBudgetLimits implements BudgetLimitSource {
  private byTenant = new Map<string, Map<string, ScopeLimit>>();
  private from: PolicyLimitsVersion | null = null;

  /**
   * Replaces every limit with the budgets of `active`, the active version of `active.namespace` (undefined: no version
   * active, no limits).
   * @returns whether the version held changed.
   */
  apply(active: (PolicyLimitsVersion & { document: { budgets: readonly PolicyBudget[] } }) | undefined): boolean {
    const was = this.from;
    const next = new Map<string, Map<string, ScopeLimit>>();
    if (active) {
      for (const { tenant, ...limit } of policyScopeLimits(active.document.budgets, active)) {
        if (!next.has(tenant)) next.set(tenant, new Map());
        next.get(tenant)!.set(key(limit.scope, limit.period), limit);
      }
    }
    this.byTenant = next;
    this.from = active ? { namespace: active.namespace, version: active.version } : null;
    return was?.namespace !== this.from?.namespace || was?.version !== this.from?.version;
  }

  /** The version whose budgets are held; null before one is applied or while none is active. */
  version(): PolicyLimitsVersion | null {
    return this.from;
  }

  /** Every limit the version declares for the tenant. */
  list(tenant: string): ScopeLimit[] {
    return [...(this.byTenant.get(tenant)?.values() ?? [])];
  }

  /** The policy's limit of one scope and period kind, if it declares one. */
  get(tenant: string, scope: BudgetScope, period: BudgetPeriodKind): ScopeLimit | undefined {
    return this.byTenant.get(tenant)?.get(key(scope, period));
  }

  limitsFor(tenant: string, scopes: readonly BudgetScope[]): Promise<ScopeLimit[]> {
    return Promise.resolve(scopes.flatMap((scope) => BUDGET_PERIOD_KINDS.flatMap((period) => this.get(tenant, scope, period) ?? [])));
  }
}

/**
 * The limits in force (ADR 0007): the active policy version's budgets, except where an operator set an override with
 * `llmgov budgets set` (Redis), which wins until `llmgov budgets unset` removes it. An override keeps the policy entry's
 * `alert_at` and `throttle` (the defaults, 0.8 and degrade, where the policy declares no budget for the scope). Every
 * limit says where it comes from (`origin`).
 */
export class EffectiveBudgetLimits implements BudgetLimitSource {
  constructor(
    readonly overrides: RedisBudgetLimits,
    readonly policy: PolicyBudgetLimits,
  ) {}

  /** @throws RetriableError when Redis (the overrides) is unreachable. */
  async limitsFor(tenant: string, scopes: readonly BudgetScope[]): Promise<ScopeLimit[]> {
    const overrides = await this.overrides.limitsFor(tenant, scopes);
    return this.merge(tenant, overrides, await this.policy.limitsFor(tenant, scopes));
  }

  /** Every limit in force for the tenant. @throws RetriableError when Redis is unreachable. */
  async list(tenant: string): Promise<ScopeLimit[]> {
    return this.merge(tenant, await this.overrides.list(tenant), this.policy.list(tenant));
  }

  private merge(tenant: string, overrides: readonly ScopeLimit[], fromPolicy: readonly ScopeLimit[]): ScopeLimit[] {
    const out = new Map<string, ScopeLimit>(fromPolicy.map((l) => [key(l.scope, l.period), l]));
    const version = this.policy.version();
    for (const o of overrides) {
      const p = this.policy.get(tenant, o.scope, o.period);
      out.set(key(o.scope, o.period), {
        scope: o.scope,
        period: o.period,
        limitMicroUsd: o.limitMicroUsd,
        alertAt: p?.alertAt ?? DEFAULT_ALERT_AT,
        throttle: p?.throttle ?? DEFAULT_THROTTLE,
        origin: { kind: 'override', shadows: p && version ? { ...version, limitMicroUsd: p.limitMicroUsd } : null },
      });
    }
    return [...out.values()];
  }
}
