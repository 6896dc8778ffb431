import type { InferenceCompleted, Tier } from '@llmgov/contracts';
import { TIERS, projectedCostUsd, type PolicyDocument as Policy } from '@llmgov/policy';
import { jobReservationId, type BudgetReservations, type PolicyBudgetLimits } from '@llmgov/persistence';
import type { AttemptReservation, CascadeContext, CascadePort, StoredAttempt } from './cascade.js';
import type { PolicyVersionSource } from './policy-versions.js';

/** The ioredis client, typed through the lib that owns the driver (ADR 0004). */
type Redis = ConstructorParameters<typeof BudgetReservations>[0];

/** Redis hash of a job's judged attempts (field: attempt number, value: JSON StoredAttempt). */
export const cascadeAttemptsKey = (jobId: string): string => `llmgov:judge:cascade:${jobId}`;

/**
 * The cascade port on the real parts: the policy version that decided the job from Postgres (`PolicyVersions` of the
 * router's namespace; versions are immutable, so each is read once and kept), the next attempt's reservation through
 * BudgetReservations (ADR 0007) against the budgets of that version, and the judged attempts in a Redis hash with a TTL.
 */
export class PolicyCascade implements CascadePort {
  /**
   * @param attemptsTtlS how long a job's judged attempts are kept, s (past the job's deadline, a late attempt only
   *   finds its own).
   */
  constructor(
    private readonly policies: PolicyVersionSource,
    private readonly reservations: BudgetReservations,
    private readonly limits: PolicyBudgetLimits,
    private readonly redis: Redis,
    private readonly attemptsTtlS: number,
  ) {}

  /**
   * @throws RetriableError when Postgres is unreachable; a job decided without a policy (no version), or under a version
   *   the namespace does not have, gets null.
   */
  async context(c: InferenceCompleted): Promise<CascadeContext | null> {
    const policy = await this.policy(c.policy_version);
    if (!policy) return null;
    const route = c.route === null ? undefined : policy.tenants[c.tenant_id]?.routes[c.route];
    const cls = route ? policy.slo_classes[route.slo_class] : undefined;
    if (!cls) return null;
    const models: Partial<Record<Tier, string>> = {};
    const templates: Partial<Record<Tier, string>> = {};
    for (const t of TIERS) {
      const tier = policy.tiers[t];
      if (!tier) continue;
      models[t] = tier.model;
      templates[t] = tier.prompt_template;
    }
    return { escalation: cls.escalation, allowedTiers: cls.allowed_tiers, models, templates };
  }

  /**
   * Reserves the worst case of the attempt on `tier`: the tier's price for the previous attempt's prompt_tokens and the
   * request's max_tokens (libs/policy projectedCostUsd), under `jobReservationId(job_id, attempt)`, leased until the
   * job's deadline plus a minute (as the router does for attempt 1).
   * @throws RetriableError when Redis is unreachable.
   */
  async reserveAttempt(c: InferenceCompleted, tier: Tier, attempt: number): Promise<AttemptReservation | null> {
    const policy = await this.policy(c.policy_version);
    const price = policy?.tiers[tier]?.price;
    if (!policy || !price) return null;
    this.limits.apply({ namespace: this.policies.namespace, version: c.policy_version!, document: policy });
    const usd = projectedCostUsd(price, { prompt_tokens: c.usage.prompt_tokens, completion_tokens: c.max_tokens });
    const r = await this.reservations.reserve({
      reservationId: jobReservationId(c.job_id, attempt),
      tenant: c.tenant_id,
      team: c.team,
      route: c.route,
      amountMicroUsd: Math.ceil(usd * 1e6),
      leaseMs: Math.max(1, Math.min(24 * 3600_000, c.deadline_at - Date.now() + 60_000)),
      jobId: c.job_id,
    });
    return r.ok ? { usd: r.amountMicroUsd / 1e6, first: r.status === 'reserved' } : null;
  }

  async remember(jobId: string, attempt: StoredAttempt): Promise<void> {
    const key = cascadeAttemptsKey(jobId);
    await this.redis.multi().hset(key, String(attempt.attempt), JSON.stringify(attempt)).expire(key, this.attemptsTtlS).exec();
  }

  async attempts(jobId: string): Promise<StoredAttempt[]> {
    const all = await this.redis.hgetall(cascadeAttemptsKey(jobId));
    return Object.values(all).map((v) => JSON.parse(v) as StoredAttempt);
  }

  private async policy(version: number | null): Promise<Policy | undefined> {
    return this.policies.document(version);
  }
}
