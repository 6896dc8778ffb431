import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { PlatformMetrics } from '@llmgov/observability';

/** feedback-labeler's Prometheus metrics (labels are enums, never ids). */
@Injectable()
export class LabelerMetrics {
  /** `labels_curated_total{label,source,agrees}`: labels stored; `agrees` is true, false or unknown (no verdict). */
  readonly labels: Counter<'label' | 'source' | 'agrees'>;
  /** `feedback_pending_total`: feedback parked because its judged result had not arrived yet. */
  readonly parked: Counter;

  constructor(metrics: PlatformMetrics) {
    this.labels = new Counter({
      name: 'labels_curated_total',
      help: 'Labels curated from feedback, by label, source and agreement with the judge',
      labelNames: ['label', 'source', 'agrees'],
      registers: [metrics.registry],
    });
    this.parked = new Counter({ name: 'feedback_pending_total', help: 'Feedback parked until its judged result arrives', registers: [metrics.registry] });
  }
}
