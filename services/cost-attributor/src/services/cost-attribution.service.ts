import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, Outcome, newEnvelope, type HandlerOutcome, deterministicEventId } from '@llmgov/kafka-runtime';
import { ValidationError } from '@llmgov/errors';
import { billingDay, billingMonth, reachedLevels } from '@llmgov/billing';
import { LOGGER, type Logger } from '@llmgov/observability';
import { Topics, isShadowJobId, type BudgetAlert, type CostRecorded, type UsageRecorded } from '@llmgov/contracts';
import { COST_CONFIG, PRICE_CATALOG, type CostConfig } from '../config.js';
import { CostLedgerRepository } from '../repositories/cost-ledger.repository.js';
import { BudgetStateRepository } from '../repositories/budget-state.repository.js';
import { BudgetSettlementService } from './budget-settlement.service.js';
import { CostMetrics } from './cost-metrics.js';
import type { PriceCatalog } from './price-catalog.js';
import { priceUsage } from './pricing.js';

const TENANT_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const MAX_NAME_CHARS = 256;

/** Name of the deterministic CostRecorded event id of a usage event. */
export const costEventName = (usageEventId: string) => `${usageEventId}:cost`;
/** Name of the deterministic BudgetAlert event id: one alert per tenant, month and level. */
export const alertEventName = (tenantId: string, month: string, level: string) => `${tenantId}:${month}:${level}:budget-alert`;

/** Reasons a usage event cannot be priced (its numbers or names are unusable); empty when it is fine. */
export function usageProblems(u: UsageRecorded): string[] {
  const reasons: string[] = [];
  if (!TENANT_RE.test(u.tenant_id)) reasons.push('tenant_id is missing or malformed');
  if (u.model.length === 0 || u.model.length > MAX_NAME_CHARS) reasons.push(`model must be 1-${MAX_NAME_CHARS} characters`);
  for (const [name, v] of [
    ['prompt_tokens', u.prompt_tokens],
    ['completion_tokens', u.completion_tokens],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) reasons.push(`${name} must be a non-negative integer`);
  }
  if (!Number.isFinite(u.gpu_seconds) || u.gpu_seconds < 0) reasons.push('gpu_seconds must be a finite non-negative number');
  if (!Number.isFinite(u.occurred_at) || u.occurred_at <= 0) reasons.push('occurred_at must be a positive epoch-millisecond time');
  for (const [name, v] of [
    ['team', u.team],
    ['feature', u.feature],
  ] as const) {
    if (v != null && v.length > MAX_NAME_CHARS) reasons.push(`${name} is longer than ${MAX_NAME_CHARS} characters`);
  }
  return reasons;
}

/**
 * Prices usage events from the versioned catalog, accounts each exactly once in Postgres, publishes cost records,
 * keeps the router's Redis budget state and fires budget alerts.
 */
@Injectable()
export class CostAttributionService {
  constructor(
    @Inject(COST_CONFIG) private readonly config: CostConfig,
    @Inject(PRICE_CATALOG) private readonly catalog: PriceCatalog,
    private readonly ledger: CostLedgerRepository,
    private readonly budgets: BudgetStateRepository,
    private readonly publisher: EventPublisher,
    private readonly metrics: CostMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly settlement: BudgetSettlementService,
  ) {}

  /**
   * 1. price the event (unknown model: catalog default, warn log, `cost_unknown_model_total`; never dropped);
   * 2. ledger + roll-up in one transaction, keyed by the usage event id (a redelivery changes nothing and reuses the stored
   *    cost), with the policy route of the reservation the event settles (BudgetSettlementService.lookup);
   * 3. after commit, settle that reservation to the stored cost in whole micro-USD, exactly once per reservation id, and
   *    raise the tenant/team/route budget alerts it reached (ADR 0007);
   * 4. publish CostRecorded with event_id = UUID v5 of `${usage_event_id}:cost` (republished unchanged on redelivery,
   *    so a crash between commit and publish loses nothing);
   * 5. SET the month-to-date spend (micro-USD, from Postgres) in Redis for the router's legacy check;
   * 6. legacy `TENANT_BUDGETS_USD` alerts at 80 % and 100 %, once per tenant, month and level.
   * Steps 3-6 are idempotent, so a redelivery repairs whatever a crash left undone.
   * @throws ValidationError for unusable numbers or names (dead-lettered); RetriableError when Postgres, Redis or Kafka is down.
   */
  async attribute(usage: UsageRecorded): Promise<HandlerOutcome> {
    const problems = usageProblems(usage);
    if (problems.length > 0) throw new ValidationError(problems, 'invalid_usage');

    const priced = priceUsage(this.catalog, usage);
    if (!priced.known)
      this.logger.warn(
        { model: usage.model.slice(0, 64), usage_event_id: usage.event_id, price_catalog_version: priced.catalogVersion },
        'model missing from the price catalog; priced with default',
      );
    const day = billingDay(usage.occurred_at);
    // A shadow copy's usage (job shadow:<job id>, team `shadow`, ADR 0009) is the platform's spend: it is priced, put in
    // the ledger and the roll-ups under team `shadow`, and published, but it settles no reservation and charges no
    // tenant, team or route budget counter (the shadow never reserved any).
    const shadow = usage.job_id !== null && isShadowJobId(usage.job_id);
    const { reservationId, route } = shadow ? { reservationId: '', route: '' } : await this.settlement.lookup(usage);
    const stored = await this.ledger.record({
      usageEventId: usage.event_id,
      tenantId: usage.tenant_id,
      jobId: usage.job_id,
      team: usage.team ?? '',
      feature: usage.feature ?? '',
      kind: usage.kind,
      model: usage.model,
      tier: usage.tier ?? '',
      route,
      day,
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      gpuSeconds: usage.gpu_seconds,
      costUsd: priced.costUsd,
      priceCatalogVersion: priced.catalogVersion,
    });
    if (stored.inserted) {
      this.metrics.costUsd.inc({ tenant: usage.tenant_id, model: priced.priceKey }, stored.costUsd);
      if (!priced.known) this.metrics.unknownModel.inc();
    }

    const costEventId = deterministicEventId(costEventName(usage.event_id));
    if (!shadow) await this.settlement.settle(usage, reservationId, stored.costMicroUsd, costEventId);

    const cost: CostRecorded = {
      ...newEnvelope(usage.tenant_id, usage.correlation_id),
      event_id: costEventId,
      usage_event_id: usage.event_id,
      job_id: usage.job_id,
      kind: usage.kind,
      model: usage.model,
      tier: usage.tier,
      cost_usd: stored.costUsd,
      price_catalog_version: stored.priceCatalogVersion,
      team: usage.team,
      feature: usage.feature,
      route: usage.route,
      policy_version: usage.policy_version,
      day,
    };
    await this.publisher.publish(Topics.costRecorded, { value: cost });

    const month = billingMonth(day);
    const spentMicroUsd = await this.ledger.monthToDateMicroUsd(usage.tenant_id, month);
    await this.budgets.setSpent(usage.tenant_id, month, spentMicroUsd);
    await this.checkBudget(usage.tenant_id, month, spentMicroUsd, cost.event_id);
    return stored.inserted ? Outcome.success() : Outcome.skipped('usage already accounted; cost record republished');
  }

  /**
   * Publishes a BudgetAlert for each level the spend has reached and that was not alerted yet this month.
   * Publish first (deterministic event id per tenant/month/level), then `SET NX` the fire-once key: a crash in
   * between republishes the same alert id on redelivery instead of losing the alert.
   */
  private async checkBudget(tenantId: string, month: string, spentMicroUsd: number, costEventId: string): Promise<void> {
    const budgetUsd = this.config.TENANT_BUDGETS_USD.get(tenantId);
    if (budgetUsd === undefined) return;
    const spentUsd = spentMicroUsd / 1e6;
    for (const level of reachedLevels(spentMicroUsd, budgetUsd)) {
      if (await this.budgets.alertSent(tenantId, month, level)) continue;
      const alert: BudgetAlert = {
        ...newEnvelope(tenantId, costEventId),
        event_id: deterministicEventId(alertEventName(tenantId, month, level)),
        scope: 'tenant',
        period: month,
        budget_usd: budgetUsd,
        spent_usd: spentUsd,
        ratio: budgetUsd > 0 ? Math.round((spentUsd / budgetUsd) * 10_000) / 10_000 : 1,
        level,
      };
      await this.publisher.publish(Topics.budgetAlert, { value: alert });
      if (await this.budgets.markAlertSent(tenantId, month, level)) {
        this.metrics.alerts.inc({ level });
        this.logger.warn({ tenant_id: tenantId, period: month, level, spent_usd: spentUsd, budget_usd: budgetUsd }, 'budget threshold reached');
      }
    }
  }
}
