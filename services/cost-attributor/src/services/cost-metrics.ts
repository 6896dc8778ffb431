import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { PlatformMetrics } from '@llmgov/observability';

/** cost-attributor's Prometheus metrics. */
@Injectable()
export class CostMetrics {
  /**
   * `cost_usd_total{tenant,model}`: USD accounted (counted once per usage event). `model` is the catalog entry used
   * (`default` for unlisted models) so hostile model names cannot create series; tenants are few here.
   */
  readonly costUsd: Counter<'tenant' | 'model'>;
  /** `cost_unknown_model_total`: usage events priced with the catalog's default because their model is not listed. */
  readonly unknownModel: Counter;
  /** `budget_alerts_total{level}`: budget alerts published. */
  readonly alerts: Counter<'level'>;
  /** `budget_settlements_total{from}`: bills settled against the budget counters, by the reservation's prior state (held, released, expired, unreserved, already_settled). */
  readonly settlements: Counter<'from'>;
  /** `budget_reservations_released_total{state}`: held reservations released because their job reached a terminal state. */
  readonly released: Counter<'state'>;
  /** `budget_completed_leases_shortened_total`: held reservations of completed jobs whose lease was cut to the grace period. */
  readonly leasesShortened: Counter;
  /** `budget_scope_alerts_total{scope,period,level}`: alerts on reservation-path budgets; scope is tenant, team or route. */
  readonly scopeAlerts: Counter<'scope' | 'period' | 'level'>;
  /** `budget_drift_repaired_usd_total{scope,direction}`: USD by which the reconciler moved a spent counter to the ledger's value. */
  readonly driftRepairedUsd: Counter<'scope' | 'direction'>;
  /** `budget_drift_repairs_total{scope,direction}`: spent counters the reconciler repaired. */
  readonly driftRepairs: Counter<'scope' | 'direction'>;
  /** `budget_reserved_recounted_usd_total`: USD of reserved amounts no held reservation accounted for (phantoms), or missing. */
  readonly reservedRecountedUsd: Counter;
  /** `budget_reconcile_passes_total{outcome}`: reconciliation passes (ok, failed). */
  readonly reconcilePasses: Counter<'outcome'>;
  /** `budget_reconcile_last_success_timestamp_seconds`: when a reconciliation pass last completed. */
  readonly reconcileLastSuccess: Gauge;

  constructor(metrics: PlatformMetrics) {
    const registers = [metrics.registry];
    this.costUsd = new Counter({
      name: 'cost_usd_total',
      help: 'USD accounted, by tenant and price catalog entry',
      labelNames: ['tenant', 'model'],
      registers,
    });
    this.unknownModel = new Counter({
      name: 'cost_unknown_model_total',
      help: 'Usage events of models missing from the price catalog (priced with default)',
      registers,
    });
    this.alerts = new Counter({ name: 'budget_alerts_total', help: 'Budget alerts published, by level', labelNames: ['level'], registers });
    this.settlements = new Counter({
      name: 'budget_settlements_total',
      help: 'Bills settled against the budget counters, by the reservation state they settled from',
      labelNames: ['from'],
      registers,
    });
    this.released = new Counter({
      name: 'budget_reservations_released_total',
      help: 'Held reservations released on their job reaching a terminal state, by state',
      labelNames: ['state'],
      registers,
    });
    this.leasesShortened = new Counter({
      name: 'budget_completed_leases_shortened_total',
      help: 'Held reservations of completed jobs whose lease was cut to BUDGET_COMPLETED_GRACE_MS',
      registers,
    });
    this.scopeAlerts = new Counter({
      name: 'budget_scope_alerts_total',
      help: 'Budget alerts on tenant, team and route budgets, by scope kind, period and level',
      labelNames: ['scope', 'period', 'level'],
      registers,
    });
    this.driftRepairedUsd = new Counter({
      name: 'budget_drift_repaired_usd_total',
      help: 'USD by which reconciliation moved Redis spent counters to the ledger, by scope kind and direction',
      labelNames: ['scope', 'direction'],
      registers,
    });
    this.driftRepairs = new Counter({
      name: 'budget_drift_repairs_total',
      help: 'Redis spent counters repaired to the ledger, by scope kind and direction',
      labelNames: ['scope', 'direction'],
      registers,
    });
    this.reservedRecountedUsd = new Counter({
      name: 'budget_reserved_recounted_usd_total',
      help: 'USD of reserved counters that held reservations did not account for, corrected by the reconciler',
      registers,
    });
    this.reconcilePasses = new Counter({
      name: 'budget_reconcile_passes_total',
      help: 'Budget reconciliation passes, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.reconcileLastSuccess = new Gauge({
      name: 'budget_reconcile_last_success_timestamp_seconds',
      help: 'Unix time of the last completed budget reconciliation pass',
      registers,
    });
  }
}
