import { Inject, Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { LOGGER, PlatformMetrics, type Logger } from '@llmgov/observability';
import { LabelingService } from './labeling.service.js';

/**
 * The judge-vs-human agreement of `LabelingService.agreement()` (all tenants) as Prometheus gauges, computed at scrape time
 * (one grouped query per scrape). Tenant ids are not labels (metrics carry enums, never ids); per tenant, use
 * `llmgov feedback agreement --tenant T`.
 * - `judge_human_agreement_kappa`: Cohen's kappa of judge PASS against the human labels, -1..1 (NaN when undefined).
 * - `judge_human_agreement_rate`: share of labels that agree with the verdict, 0..1 (NaN with no label).
 * - `judge_human_labels_compared`: labels that have a verdict (count).
 * A failing query leaves the gauges at their last values and is logged; a scrape never fails on it.
 */
@Injectable()
export class AgreementMetrics {
  readonly kappa: Gauge;
  readonly rate: Gauge;
  readonly compared: Gauge;

  constructor(
    metrics: PlatformMetrics,
    private readonly labeling: LabelingService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const registers = [metrics.registry];
    // prom-client calls collect() of each gauge on every scrape: one query serves the three gauges of the same scrape.
    let inFlight: Promise<void> | undefined;
    const refresh = () => (inFlight ??= this.refresh().finally(() => (inFlight = undefined)));
    this.kappa = new Gauge({
      name: 'judge_human_agreement_kappa',
      help: "Cohen's kappa of judge PASS against curated human labels (all tenants)",
      registers,
      collect: refresh,
    });
    this.rate = new Gauge({
      name: 'judge_human_agreement_rate',
      help: 'Share of curated human labels that agree with the judge verdict (all tenants)',
      registers,
      collect: refresh,
    });
    this.compared = new Gauge({
      name: 'judge_human_labels_compared',
      help: 'Curated human labels that have a judge verdict (all tenants)',
      registers,
      collect: refresh,
    });
  }

  private async refresh(): Promise<void> {
    try {
      const a = await this.labeling.agreement();
      this.kappa.set(a.kappa ?? NaN);
      this.rate.set(a.rate ?? NaN);
      this.compared.set(a.compared);
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'judge-human agreement not refreshed');
    }
  }
}
