import { deterministicEventId, newEnvelope } from '@llmgov/kafka-runtime';
import { schemaVersionOf, Topics, type InferenceCompleted, type UsageRecorded } from '@llmgov/contracts';
import { worstCaseCost } from '@llmgov/billing';
import { ValidationError } from '@llmgov/errors';
import { judgeReservationId, type BudgetReservations, type PolicyBudgetLimits } from '@llmgov/persistence';
import type { PolicyVersionSource } from './policy-versions.js';
import type { JudgePool, LlmJudgeReply } from './llm-judge.client.js';
import { JUDGE_MAX_TOKENS } from './llm-judge.client.js';

/** Nest injection token of the judge's optional `JudgeSpendPort`. */
export const JUDGE_SPEND = Symbol('JUDGE_SPEND');

/** The feature the LLM judge's spend is billed to (the ledger's `feature` column; ADR 0007 "Judge calls"). */
export const JUDGE_FEATURE = 'judge';

/** Reservation id of a job attempt's LLM-judge call: `judge:<job_id>:<attempt>` (libs/persistence, ADR 0007 "Judge calls"). */
export { judgeReservationId };

/**
 * Event id of a job attempt's LLM-judge usage: UUID v5 of (`job_id`, attempt, `judge-usage`), so a redelivered
 * completion republishes the same bill and the cost-attributor maps it back to `judgeReservationId` (its
 * `reservationIdOf`).
 */
export const judgeUsageEventId = (jobId: string, attempt: number): string => deterministicEventId(jobId, String(attempt), 'judge-usage');

/** Most lease a judge reservation gets, ms (BudgetReservations' MAX_LEASE_MS is larger; a day is plenty). */
const MAX_JUDGE_LEASE_MS = 24 * 3600_000;
/** Lease past the call's timeout, ms: time for the usage event to reach the cost-attributor and settle. */
const BILLING_GRACE_MS = 60_000;

/**
 * Worst-case cost of one LLM-judge call, whole micro-USD: `worstCaseCost` (@llmgov/billing) of the judge endpoint's
 * GPU-hour price for a call bounded by `timeout_ms` (the client aborts there) on one sequence, and at least 1 micro-USD,
 * so that a budget already at its limit refuses the call even when the pool file declares no price (the cost-attributor
 * then prices the call from its catalog).
 */
export function judgeWorstCaseMicroUsd(pool: Pick<JudgePool, 'timeout_ms' | 'usd_per_gpu_hour'>): number {
  if (pool.usd_per_gpu_hour === undefined) return 1;
  const worst = worstCaseCost(
    { kind: 'self_hosted', usd_per_gpu_hour: pool.usd_per_gpu_hour },
    { promptTokens: 0, maxTokens: JUDGE_MAX_TOKENS },
    { maxNumSeqs: 1, maxCallMs: pool.timeout_ms },
  );
  return Math.max(1, worst.microUsd);
}

/** The lease of a judge reservation, ms: the call's timeout plus a minute for the bill, at least until the job's deadline. */
export function judgeLeaseMs(c: Pick<InferenceCompleted, 'deadline_at'>, timeoutMs: number, now = Date.now()): number {
  return Math.min(MAX_JUDGE_LEASE_MS, Math.max(timeoutMs + BILLING_GRACE_MS, c.deadline_at - now + BILLING_GRACE_MS));
}

/**
 * The usage event of one LLM-judge call (kind `JUDGE`, feature `judge`, no tier): billed to the job's tenant, team and
 * policy route, GPU-seconds = the call's wall time on one sequence at the judge endpoint's GPU-hour price.
 */
export function judgeUsage(
  c: InferenceCompleted,
  pool: Pick<JudgePool, 'model' | 'url' | 'gpu_type' | 'usd_per_gpu_hour'>,
  reply: LlmJudgeReply,
): UsageRecorded {
  return {
    ...newEnvelope(c.tenant_id, c.job_id, schemaVersionOf(Topics.usageRecorded)),
    event_id: judgeUsageEventId(c.job_id, c.attempt),
    job_id: c.job_id,
    kind: 'JUDGE',
    model: pool.model,
    tier: null,
    pool: 'judge',
    endpoint: pool.url,
    prompt_tokens: reply.usage.prompt_tokens,
    completion_tokens: reply.usage.completion_tokens,
    gpu_seconds: reply.e2e_ms / 1000,
    team: c.team,
    feature: JUDGE_FEATURE,
    route: c.route,
    policy_version: c.policy_version,
    e2e_ms: reply.e2e_ms,
    queue_ms: null,
    ttft_ms: null,
    tpot_ms: null,
    gpu_type: pool.gpu_type ?? null,
    usd_per_gpu_hour: pool.usd_per_gpu_hour ?? null,
  };
}

/** A judge reservation: held (or already held / finished by an earlier delivery), or refused with the budgets' message. */
export type JudgeReservation = { ok: true } | { ok: false; message: string };

/**
 * The budget side of an LLM-judge call (ADR 0007 "Judge calls"), behind a port so the judge's rule is testable without
 * a stack. Idempotent per job attempt.
 */
export interface JudgeSpendPort {
  /**
   * Reserves `amountMicroUsd` under `judgeReservationId(job_id, attempt)` against the job's tenant, team and route
   * budgets, leased `leaseMs`. @throws RetriableError when Redis or Postgres is unreachable.
   */
  reserve(c: InferenceCompleted, amountMicroUsd: number, leaseMs: number): Promise<JudgeReservation>;
  /** Gives a held judge reservation back (the call failed, nothing will bill). @throws RetriableError */
  release(c: InferenceCompleted): Promise<void>;
}

/**
 * The spend port on the real parts: BudgetReservations (ADR 0007), with the budgets of the policy version that decided
 * the job applied first (as the cascade does for an escalated attempt), so the judge's call counts against the limits
 * the job was admitted under.
 */
export class BudgetJudgeSpend implements JudgeSpendPort {
  constructor(
    private readonly reservations: BudgetReservations,
    private readonly limits: PolicyBudgetLimits,
    private readonly policies: PolicyVersionSource | null,
  ) {}

  async reserve(c: InferenceCompleted, amountMicroUsd: number, leaseMs: number): Promise<JudgeReservation> {
    const document = this.policies ? await this.policies.document(c.policy_version) : undefined;
    if (document) this.limits.apply({ namespace: this.policies!.namespace, version: c.policy_version!, document });
    try {
      const r = await this.reservations.reserve({
        reservationId: judgeReservationId(c.job_id, c.attempt),
        tenant: c.tenant_id,
        team: c.team,
        route: c.route,
        amountMicroUsd,
        leaseMs,
        jobId: c.job_id,
      });
      // `closed`: an earlier delivery reserved, called and was billed (or released); its bill is deduplicated by event id.
      return r.ok || r.status === 'closed' ? { ok: true } : { ok: false, message: r.message };
    } catch (err) {
      // A tenant or job id that cannot be a budget key: the call cannot be governed, so it is not made.
      if (err instanceof ValidationError) return { ok: false, message: `not reservable: ${err.reasons.join('; ')}` };
      throw err;
    }
  }

  async release(c: InferenceCompleted): Promise<void> {
    try {
      await this.reservations.release(c.tenant_id, judgeReservationId(c.job_id, c.attempt));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
    }
  }
}
