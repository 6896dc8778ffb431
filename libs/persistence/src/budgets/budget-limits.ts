import type { Redis } from 'ioredis';
import { ValidationError } from '@llmgov/errors';
import { BUDGET_PERIOD_KINDS, isMicroUsd, type BudgetPeriodKind } from '@llmgov/billing';
import { BudgetKeys, TENANT_ID_RE, parseScopeKeyPart, scopeKeyPart, type BudgetScope } from './budget-scope.js';
import { redisCall } from './redis-call.js';

/** What a budget does above its limit (the policy's `throttle`): walk the degrade ladder, or refuse with budget_exceeded. */
export type BudgetThrottle = 'degrade' | 'refuse';

/** Where a limit comes from: a budget of the active policy version of a namespace, or an operator's override (`llmgov budgets set`). */
export type LimitOrigin =
  | { kind: 'policy'; namespace: string; version: number }
  | {
      kind: 'override';
      /** The policy limit the override replaces (micro-USD), or null when the active policy declares none for the scope. */
      shadows: { namespace: string; version: number; limitMicroUsd: number } | null;
    };

/** The budget of one scope for one period kind: the most that may be spent plus reserved in each such period. */
export interface ScopeLimit {
  scope: BudgetScope;
  period: BudgetPeriodKind;
  /** Micro-USD per period (UTC day or month). */
  limitMicroUsd: number;
  /** Fraction of the limit (0, 1] at which the warning alert fires (the policy's `alert_at`); absent: {@link DEFAULT_ALERT_AT}. */
  alertAt?: number;
  /** What a reservation that would go over the limit gets; absent: {@link DEFAULT_THROTTLE}. */
  throttle?: BudgetThrottle;
  /** Where the limit comes from; absent for sources that do not say (RedisBudgetLimits, StaticBudgetLimits). */
  origin?: LimitOrigin;
}

/** The policy schema's default `alert_at` (libs/policy `budgetSchema`): warn at 80 % of a limit (issue 10 §3). */
export const DEFAULT_ALERT_AT = 0.8;
/** The policy schema's default `throttle`. */
export const DEFAULT_THROTTLE: BudgetThrottle = 'degrade';

/**
 * Where budget limits come from: {@link RedisBudgetLimits} (the operator overrides written by `llmgov budgets set`),
 * {@link PolicyBudgetLimits} (the budgets of a namespace's active policy version) and {@link EffectiveBudgetLimits}
 * (both, an override winning), which is what the services use (ADR 0007).
 */
export interface BudgetLimitSource {
  /**
   * The limits that apply to `scopes` of `tenant`, for either period kind; a scope and period without a limit is absent.
   * @throws RetriableError when the source is unreachable.
   */
  limitsFor(tenant: string, scopes: readonly BudgetScope[]): Promise<ScopeLimit[]>;
}

const field = (scope: BudgetScope, period: BudgetPeriodKind): string => `${scopeKeyPart(scope)}|${period}`;

function parseField(f: string, value: string): ScopeLimit | undefined {
  const i = f.lastIndexOf('|');
  const period = f.slice(i + 1);
  const limitMicroUsd = Number(value);
  if (i <= 0 || (period !== 'day' && period !== 'month') || !isMicroUsd(limitMicroUsd)) return undefined; // not ours: ignored
  return { scope: parseScopeKeyPart(f.slice(0, i)), period, limitMicroUsd };
}

/**
 * Operator overrides held in Redis, one hash per tenant (`BudgetKeys.limits`): field `<scope>|<day|month>`, value
 * micro-USD. Written by `llmgov budgets set` / `unset`; not namespaced: an override applies whatever policy is active.
 */
export class RedisBudgetLimits implements BudgetLimitSource {
  constructor(private readonly redis: Redis) {}

  async limitsFor(tenant: string, scopes: readonly BudgetScope[]): Promise<ScopeLimit[]> {
    const wanted = scopes.flatMap((scope) => BUDGET_PERIOD_KINDS.map((period) => ({ scope, period })));
    if (wanted.length === 0) return [];
    const values = await redisCall(() => this.redis.hmget(BudgetKeys.limits(tenant), ...wanted.map((w) => field(w.scope, w.period))));
    return wanted.flatMap((w, i) => {
      const v = values[i];
      return v != null && isMicroUsd(Number(v)) ? [{ ...w, limitMicroUsd: Number(v) }] : [];
    });
  }

  /** Every limit of the tenant. @throws RetriableError when Redis cannot be reached. */
  async list(tenant: string): Promise<ScopeLimit[]> {
    const all = await redisCall(() => this.redis.hgetall(BudgetKeys.limits(tenant)));
    return Object.entries(all).flatMap(([f, v]) => parseField(f, v) ?? []);
  }

  /**
   * Sets (or with `null` removes) the limit of a scope and period kind, and registers the tenant for the reconciler.
   * @returns the previous limit in micro-USD, or null.
   * @throws ValidationError for a malformed tenant or amount; RetriableError when Redis cannot be reached.
   */
  async set(tenant: string, scope: BudgetScope, period: BudgetPeriodKind, limitMicroUsd: number | null): Promise<number | null> {
    if (!TENANT_ID_RE.test(tenant)) throw new ValidationError(['tenant must match [a-z0-9][a-z0-9_-]{0,63}']);
    if (limitMicroUsd !== null && !isMicroUsd(limitMicroUsd)) throw new ValidationError([`limit must be whole micro-USD in [0, 2^53/4], got ${limitMicroUsd}`]);
    const key = BudgetKeys.limits(tenant);
    const f = field(scope, period);
    const [previous] = await redisCall(async () => {
      const tx = this.redis.multi().hget(key, f);
      if (limitMicroUsd === null) tx.hdel(key, f);
      else tx.hset(key, f, String(limitMicroUsd));
      const results = (await tx.exec()) ?? [];
      return [results[0]?.[1] as string | null | undefined];
    });
    await redisCall(() => this.redis.sadd(BudgetKeys.tenants, tenant));
    return previous != null ? Number(previous) : null;
  }
}

/** Limits from memory: for a policy document already loaded, and for tests. */
export class StaticBudgetLimits implements BudgetLimitSource {
  private readonly limits = new Map<string, number>();

  constructor(entries: readonly ({ tenant: string } & ScopeLimit)[] = []) {
    for (const e of entries) this.set(e.tenant, e.scope, e.period, e.limitMicroUsd);
  }

  set(tenant: string, scope: BudgetScope, period: BudgetPeriodKind, limitMicroUsd: number | null): void {
    const k = `${tenant}\u0000${field(scope, period)}`;
    if (limitMicroUsd === null) this.limits.delete(k);
    else this.limits.set(k, limitMicroUsd);
  }

  async limitsFor(tenant: string, scopes: readonly BudgetScope[]): Promise<ScopeLimit[]> {
    return scopes.flatMap((scope) =>
      BUDGET_PERIOD_KINDS.flatMap((period) => {
        const limitMicroUsd = this.limits.get(`${tenant}\u0000${field(scope, period)}`);
        return limitMicroUsd === undefined ? [] : [{ scope, period, limitMicroUsd }];
      }),
    );
  }
}
