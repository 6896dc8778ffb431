import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
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
  }
}
