import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CANARY_DEFAULTS, SlidingWindows, parsePolicyText } from '@llmgov/policy';
import { assessCanary, routeSlo } from './canary-assessment.js';

const doc = parsePolicyText(readFileSync(fileURLToPath(new URL('../../../../../infra/policies/local.yaml', import.meta.url)), 'utf8'), 'local.yaml');
const NOW = 1_800_000_000_000;
const under = { stableVersion: 1, stableDocument: doc, canaryVersion: 2, canaryDocument: doc, settings: { ...CANARY_DEFAULTS, min_samples: 5 } };

function fill(w: SlidingWindows, version: number, n: number, s: { latencyMs: number; pass: boolean; costUsd: number; route?: string }) {
  for (let i = 0; i < n; i++) {
    const at = NOW - 1000 - i;
    w.add(version, { kind: 'latency', at, tenant: 'tenant-a', route: s.route ?? 'squad-qa', latencyMs: s.latencyMs });
    w.add(version, { kind: 'judged', at, tenant: 'tenant-a', route: s.route ?? 'squad-qa', pass: s.pass, groundedness: s.pass ? 0.9 : 0.1 });
    w.add(version, { kind: 'cost', at, costUsd: s.costUsd });
  }
}

describe('routeSlo', () => {
  it('binds a route to its SLO class, the default route when none is named, nothing for an unknown tenant', () => {
    assert.deepEqual(routeSlo(doc, 'tenant-a', 'support-faq'), { tenant: 'tenant-a', route: 'support-faq', p95LatencyMs: 700, minQuality: 0.3 });
    assert.equal(routeSlo(doc, 'tenant-a', null)?.p95LatencyMs, 30000);
    assert.equal(routeSlo(doc, 'nobody', 'squad-qa'), undefined);
  });
});

describe('assessCanary', () => {
  it('keeps a canary like stable, and rolls back one that costs 10 times more', () => {
    const w = new SlidingWindows(under.settings.window_s * 1000);
    fill(w, 1, 10, { latencyMs: 500, pass: true, costUsd: 0.0001 });
    fill(w, 2, 10, { latencyMs: 500, pass: true, costUsd: 0.0001 });
    assert.equal(assessCanary(w, NOW, under).verdict.action, 'keep');
    w.clear();
    fill(w, 1, 10, { latencyMs: 500, pass: true, costUsd: 0.0001 });
    fill(w, 2, 10, { latencyMs: 500, pass: true, costUsd: 0.001 });
    const { verdict, canary } = assessCanary(w, NOW, under);
    assert.ok(Math.abs(canary.meanCostUsd! - 0.001) < 1e-12);
    assert.equal(verdict.action === 'rollback' && verdict.metric, 'cost');
  });

  it('rolls back a canary over its route’s p95 SLO that stable meets', () => {
    const w = new SlidingWindows(under.settings.window_s * 1000);
    fill(w, 1, 10, { latencyMs: 600, pass: true, costUsd: 0.0001, route: 'support-faq' });
    fill(w, 2, 10, { latencyMs: 800, pass: true, costUsd: 0.0001, route: 'support-faq' });
    const { verdict } = assessCanary(w, NOW, under);
    assert.equal(verdict.action === 'rollback' && verdict.metric, 'slo_p95_latency');
  });

  it('ignores samples of other versions and outside the window', () => {
    const w = new SlidingWindows(under.settings.window_s * 1000);
    fill(w, 1, 10, { latencyMs: 500, pass: true, costUsd: 0.0001 });
    fill(w, 3, 10, { latencyMs: 500, pass: true, costUsd: 1 });
    fill(w, 2, 10, { latencyMs: 500, pass: true, costUsd: 0.0001 });
    assert.equal(assessCanary(w, NOW, under).verdict.action, 'keep');
    const later = NOW + under.settings.window_s * 1000;
    const { verdict } = assessCanary(w, later, under);
    assert.match(verdict.action === 'keep' ? verdict.reason : '', /short of 5 samples: latency 0\/0/);
  });
});
