import { Injectable } from '@nestjs/common';
import { Counter, Histogram, type Registry } from 'prom-client';
import { PlatformMetrics } from '@llmgov/observability';
import type { Tier, Verdict } from '@llmgov/contracts';

/** The judge's own Prometheus metrics, registered on the service registry (labels are enums, never ids). */
@Injectable()
export class JudgeMetrics {
  /** `judge_verdicts_total{verdict,tier}`: completions judged. */
  readonly verdicts: Counter<'verdict' | 'tier'>;
  /** `judge_groundedness`: distribution of groundedness scores (0..1, unit-less). */
  readonly groundedness: Histogram;

  constructor(metrics: PlatformMetrics) {
    const registers: Registry[] = [metrics.registry];
    this.verdicts = new Counter({ name: 'judge_verdicts_total', help: 'Completions judged, by verdict and tier', labelNames: ['verdict', 'tier'], registers });
    this.groundedness = new Histogram({
      name: 'judge_groundedness',
      help: 'Groundedness score of judged completions (0..1)',
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
      registers,
    });
  }

  record(verdict: Verdict, tier: Tier, groundedness: number): void {
    this.verdicts.inc({ verdict, tier });
    this.groundedness.observe(groundedness);
  }
}
