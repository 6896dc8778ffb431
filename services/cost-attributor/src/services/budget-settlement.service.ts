import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, Outcome, deterministicEventId, newEnvelope, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { LOGGER, type Logger } from '@llmgov/observability';
import { Topics, type BudgetAlert, type JobState, type JobStatusChanged, type UsageRecorded } from '@llmgov/contracts';
import { microUsdToUsd, reachedLevelsMicro } from '@llmgov/billing';
import {
  BUDGET_LIMITS,
  BudgetReservations,
  DEFAULT_ALERT_AT,
  RESERVATION_ID_RE,
  TENANT_ID_RE,
  jobReservationId,
  judgeReservationId,
  scopeKeyPart,
  scopeLabel,
  usageChargeId,
  type BudgetLimitSource,
  type CounterSpend,
} from '@llmgov/persistence';
import { COST_CONFIG, type CostConfig } from '../config.js';
import { BudgetStateRepository } from '../repositories/budget-state.repository.js';
import { CostMetrics } from './cost-metrics.js';

/**
 * Highest job attempt whose reservation id is recovered from a usage event id (see `reservationIdOf`). The platform
 * runs attempt 1 today; escalations would add a few more.
 */
export const MAX_RECOVERED_ATTEMPT = 16;

/** Terminal job states that release the job's held reservations: it ended without (more) spending. */
export const RELEASING_JOB_STATES: ReadonlySet<JobState> = new Set<JobState>(['failed', 'expired', 'cancelled']);

/** Default of `BUDGET_COMPLETED_GRACE_MS`: the most lease a completed job's held reservations keep (ms). */
export const DEFAULT_COMPLETED_GRACE_MS = 60_000;

/** Name of the deterministic BudgetAlert event id of a reservation-path budget: one per tenant, counter and level. */
export const scopeAlertEventName = (tenantId: string, counter: string, level: string) => `${tenantId}:${counter}:${level}:budget-alert`;

/**
 * The reservation a usage event settles. The routed and usage Avro events carry no reservation id (that needs a schema
 * change), so it is derived: the inference worker gives a job attempt's usage event the id
 * `deterministicEventId(job_id, attempt, 'usage')` (UUID v5), and the router reserves under
 * `jobReservationId(job_id, attempt)`; recomputing the UUID for attempts 1..MAX_RECOVERED_ATTEMPT recovers the
 * attempt. Usage that matches no attempt (embeddings, or a producer with another id scheme) is a direct charge under
 * `usageChargeId(event_id)`, still exactly once.
 */
export function reservationIdOf(u: Pick<UsageRecorded, 'event_id' | 'job_id' | 'kind'>): string {
  // The judge's LLM calls (ADR 0007 "Judge calls"): usage `deterministicEventId(job_id, attempt, 'judge-usage')`,
  // reserved under `judgeReservationId(job_id, attempt)`.
  const scheme =
    u.kind === 'COMPLETION' ? { name: 'usage', id: jobReservationId } : u.kind === 'JUDGE' ? { name: 'judge-usage', id: judgeReservationId } : null;
  if (scheme && u.job_id) {
    for (let attempt = 1; attempt <= MAX_RECOVERED_ATTEMPT; attempt++) {
      if (deterministicEventId(u.job_id, String(attempt), scheme.name) === u.event_id) {
        const id = scheme.id(u.job_id, attempt);
        if (RESERVATION_ID_RE.test(id)) return id;
      }
    }
  }
  return usageChargeId(u.event_id);
}

/**
 * Settles reservations to the ledger's actual cost, releases the reservations of jobs that ended, and raises the
 * alerts of tenant, team and route budgets (ADR 0007).
 */
@Injectable()
export class BudgetSettlementService {
  constructor(
    @Inject(COST_CONFIG) private readonly config: CostConfig,
    private readonly reservations: BudgetReservations,
    @Inject(BUDGET_LIMITS) private readonly limits: BudgetLimitSource,
    private readonly state: BudgetStateRepository,
    private readonly publisher: EventPublisher,
    private readonly metrics: CostMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * The reservation id a usage event settles, and the policy route it was reserved under ('' when none or unknown), which
   * the ledger row records so route budgets can be reconciled.
   * @throws RetriableError when Redis is unreachable.
   */
  async lookup(u: UsageRecorded): Promise<{ reservationId: string; route: string }> {
    const reservationId = reservationIdOf(u);
    const held = reservationId.startsWith('job:') || reservationId.startsWith('judge:') ? await this.reservations.get(u.tenant_id, reservationId) : undefined;
    const route = held?.scopes.find((s) => s.kind === 'route');
    return { reservationId, route: route?.kind === 'route' ? route.name : '' };
  }

  /**
   * Settles the bill of a usage event (already in the ledger) exactly once: `costMicroUsd` moves the reservation from
   * reserved to spent for the day and month of `occurred_at`; an unreserved usage is charged to the tenant and its team.
   * Then raises each 80 % / 100 % alert the new spend reached, once per scope, period and level.
   * @throws RetriableError when Redis or Kafka is unreachable (a redelivery completes what was left undone).
   */
  async settle(u: UsageRecorded, reservationId: string, costMicroUsd: number, costEventId: string): Promise<void> {
    const result = await this.reservations.settle({
      tenant: u.tenant_id,
      reservationId,
      actualMicroUsd: costMicroUsd,
      at: u.occurred_at,
      unreserved: { team: u.team },
    });
    this.metrics.settlements.inc({ from: result.status === 'settled' ? result.from : 'already_settled' });
    await this.raiseAlerts(u.tenant_id, result.counters, costEventId);
  }

  /**
   * On a job's terminal state:
   * - failed, expired, cancelled: releases whatever the job still holds (refused or failed after its reservation,
   *   cancelled, a crash the expiry sweeper caught). A bill that still arrives afterwards (a failure after inference)
   *   is settled all the same: charged to spent, see BudgetReservations.settle.
   * - completed: its bill is on its way (the judge completes a job after the worker published its usage, on another
   *   topic), and releasing now would leave that money uncounted until the bill lands. So the reservation stays held
   *   for the bill to settle, but its lease is cut to `BUDGET_COMPLETED_GRACE_MS`: a completion that never bills (an
   *   answer served from cache) gives the money back then.
   * Idempotent. @throws RetriableError when Redis is unreachable.
   */
  async releaseOnTerminal(ev: JobStatusChanged): Promise<HandlerOutcome> {
    if (ev.state !== 'completed' && !RELEASING_JOB_STATES.has(ev.state)) return Outcome.skipped('not a terminal state');
    if (!TENANT_ID_RE.test(ev.tenant_id) || !RESERVATION_ID_RE.test(ev.job_id)) return Outcome.skipped('tenant or job id unusable as a budget key');
    if (ev.state === 'completed') {
      const shortened = await this.reservations.shortenJobLeases(ev.tenant_id, ev.job_id, this.config.BUDGET_COMPLETED_GRACE_MS ?? DEFAULT_COMPLETED_GRACE_MS);
      this.metrics.leasesShortened.inc(shortened);
      return shortened > 0 ? Outcome.success() : Outcome.skipped('no held reservation');
    }
    const released = await this.reservations.releaseJob(ev.tenant_id, ev.job_id);
    if (released === 0) return Outcome.skipped('no held reservation');
    this.metrics.released.inc({ state: ev.state }, released);
    return Outcome.success();
  }

  /**
   * Publishes a BudgetAlert for every counter whose spend reached its limit's `alert_at` (the policy's, default 80 %;
   * level WARN_80) or 100 % (EXCEEDED_100) and that was not alerted yet in its period; publish first, then the fire-once
   * marker, so a crash in between republishes the same event id.
   */
  private async raiseAlerts(tenant: string, counters: readonly CounterSpend[], costEventId: string): Promise<void> {
    if (counters.length === 0) return;
    const scopes = [...new Map(counters.map((c) => [scopeKeyPart(c.scope), c.scope])).values()];
    const limits = await this.limits.limitsFor(tenant, scopes);
    for (const c of counters) {
      const limit = limits.find((l) => l.period === c.period && scopeKeyPart(l.scope) === scopeKeyPart(c.scope));
      if (!limit) continue;
      const warnAt = limit.alertAt ?? DEFAULT_ALERT_AT;
      for (const level of reachedLevelsMicro(c.spentMicroUsd, limit.limitMicroUsd, warnAt)) {
        if (await this.state.scopeAlertSent(tenant, c.counter, level)) continue;
        const budgetUsd = microUsdToUsd(limit.limitMicroUsd);
        const spentUsd = microUsdToUsd(c.spentMicroUsd);
        const alert: BudgetAlert = {
          ...newEnvelope(tenant, costEventId),
          event_id: deterministicEventId(scopeAlertEventName(tenant, c.counter, level)),
          scope: scopeLabel(c.scope),
          period: c.periodId,
          budget_usd: budgetUsd,
          spent_usd: spentUsd,
          ratio: limit.limitMicroUsd > 0 ? Math.round((c.spentMicroUsd / limit.limitMicroUsd) * 10_000) / 10_000 : 1,
          level,
        };
        await this.publisher.publish(Topics.budgetAlert, { value: alert });
        if (await this.state.markScopeAlertSent(tenant, c.counter, level)) {
          this.metrics.scopeAlerts.inc({ scope: c.scope.kind, period: c.period, level });
          this.logger.warn(
            { tenant_id: tenant, scope: alert.scope, period: c.periodId, level, spent_usd: spentUsd, budget_usd: budgetUsd },
            level === 'EXCEEDED_100'
              ? `budget spent: reservations over it are throttled (${limit.throttle ?? 'degrade'})`
              : `budget at ${Math.round(warnAt * 100)} %`,
          );
        }
      }
    }
  }
}
