import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlatformMetrics } from '@llmgov/observability';
import type { PolicyDocument } from '@llmgov/policy';
import { RouterDriftMetrics } from './drift-metrics.js';

/** The value of a gauge sample in the Prometheus text format. */
async function gauge(metrics: PlatformMetrics, name: string, dimension: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const m = new RegExp(`^${name}\\{dimension="${dimension}"[^}]*\\} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name}{dimension="${dimension}"} is exported`);
  return Number(m[1]);
}

describe('RouterDriftMetrics', () => {
  it('exports the JS divergence of the intent and tier mixes and raises the alert at the policy’s threshold', async () => {
    const metrics = new PlatformMetrics('router');
    const drift = new RouterDriftMetrics(metrics);
    drift.configure({ drift: { window_s: 60, alert_threshold: 0.2 } } as PolicyDocument);
    const now = Date.now();
    // Nothing observed: no divergence can be stated, and no alert.
    assert.ok(Number.isNaN(await gauge(metrics, 'policy_drift_js_divergence', 'intent')));
    assert.equal(await gauge(metrics, 'policy_drift_alert', 'intent'), 0);

    for (let i = 0; i < 20; i++) {
      drift.observe('intent', 'factoid', now - 90_000); // reference window
      drift.observe('intent', i < 10 ? 'factoid' : 'legal', now - 30_000); // current window: half legal now
      drift.observe('tier', 'S', now - 90_000);
      drift.observe('tier', 'S', now - 30_000);
    }
    const intent = await gauge(metrics, 'policy_drift_js_divergence', 'intent');
    // P = (1, 0), Q = (½, ½): JSD ≈ 0.3113 bits.
    assert.ok(Math.abs(intent - 0.311278) < 1e-4, `intent drift ${intent}`);
    assert.equal(await gauge(metrics, 'policy_drift_alert', 'intent'), 1);
    assert.equal(await gauge(metrics, 'policy_drift_js_divergence', 'tier'), 0);
    assert.equal(await gauge(metrics, 'policy_drift_alert', 'tier'), 0);

    // A higher threshold from the next policy version clears the alert.
    drift.configure({ drift: { window_s: 60, alert_threshold: 0.5 } } as PolicyDocument);
    assert.equal(await gauge(metrics, 'policy_drift_alert', 'intent'), 0);
  });
});
