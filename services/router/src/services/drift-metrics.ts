import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { PlatformMetrics } from '@llmgov/observability';
import { DRIFT_DEFAULTS, DriftWindow, driftSettings, type PolicyDocument } from '@llmgov/policy';

/** The mixes the router sees decided: the classifier's intent and the decision's tier (or action when it serves no tier). */
export type RouterDriftDimension = 'intent' | 'tier';

/**
 * Drift of the router's decisions (issue 11 §4): the Jensen-Shannon divergence (bits, 0..1) between the reference
 * window and the current window of the intent mix and the tier mix, computed when Prometheus scrapes:
 * `policy_drift_js_divergence{dimension}` (NaN while a window is empty) and `policy_drift_alert{dimension}` (1 at or
 * above the stable policy's `drift.alert_threshold`). The intent is decided here (classification) and carried by no
 * event, which is why intent drift is computed in the router rather than downstream.
 */
@Injectable()
export class RouterDriftMetrics {
  private readonly windows: Record<RouterDriftDimension, DriftWindow> = {
    intent: new DriftWindow(DRIFT_DEFAULTS.window_s * 1000),
    tier: new DriftWindow(DRIFT_DEFAULTS.window_s * 1000),
  };
  private threshold = DRIFT_DEFAULTS.alert_threshold;

  constructor(metrics: PlatformMetrics) {
    const windows = this.windows;
    const threshold = () => this.threshold;
    new Gauge({
      name: 'policy_drift_js_divergence',
      help: 'Jensen-Shannon divergence (log2, 0..1) between the reference and the current window, by dimension (intent, tier, judge_score)',
      labelNames: ['dimension'],
      registers: [metrics.registry],
      collect() {
        const now = Date.now();
        for (const d of Object.keys(windows) as RouterDriftDimension[]) this.set({ dimension: d }, windows[d].divergence(now));
      },
    });
    new Gauge({
      name: 'policy_drift_alert',
      help: '1 when the drift of a dimension is at or above the policy’s drift.alert_threshold, else 0',
      labelNames: ['dimension'],
      registers: [metrics.registry],
      collect() {
        const now = Date.now();
        for (const d of Object.keys(windows) as RouterDriftDimension[]) this.set({ dimension: d }, windows[d].divergence(now) >= threshold() ? 1 : 0);
      },
    });
  }

  /** Follows the stable policy's `drift` section (window length, alert threshold). */
  configure(doc: PolicyDocument | undefined): void {
    const s = driftSettings(doc);
    this.threshold = s.alert_threshold;
    for (const w of Object.values(this.windows)) w.setWindow(s.window_s * 1000);
  }

  observe(dimension: RouterDriftDimension, category: string, at = Date.now()): void {
    this.windows[dimension].observe(category, at);
  }
}
