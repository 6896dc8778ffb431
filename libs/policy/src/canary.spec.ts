import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CANARY_DEFAULTS,
  SlidingWindows,
  canaryBucket,
  canarySettings,
  evaluateCanary,
  p95,
  routesToCanary,
  windowStats,
  type CanarySample,
  type WindowStats,
} from './canary.js';
import type { PolicyDocument } from './schema.js';

const stats = (over: Partial<WindowStats> = {}): WindowStats => ({
  latencySamples: 50,
  p95LatencyMs: 1000,
  judgedSamples: 50,
  passRate: 0.9,
  meanGroundedness: 0.8,
  costSamples: 50,
  meanCostUsd: 0.001,
  ...over,
});
const settings = { ...CANARY_DEFAULTS };
const slo = { tenant: 't', route: 'qa', p95LatencyMs: 5000, minQuality: 0.5 };

describe('canaryBucket / routesToCanary', () => {
  it('puts a job in the same bucket every time, within [0, 100)', () => {
    fc.assert(
      fc.property(fc.string(), (id) => {
        const b = canaryBucket(id);
        return b >= 0 && b < 100 && b === canaryBucket(id);
      }),
    );
  });

  it('sends about the percent of jobs to the canary, none at 0 and all at 100', () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `job-${i}`);
    const share = ids.filter((id) => routesToCanary(id, 10)).length / ids.length;
    assert.ok(share > 0.08 && share < 0.12, `10% canary took ${share}`);
    assert.equal(ids.filter((id) => routesToCanary(id, 0)).length, 0);
    assert.equal(ids.filter((id) => routesToCanary(id, 100)).length, ids.length);
  });

  it('keeps a job on the canary when the percent grows', () => {
    fc.assert(
      fc.property(fc.string(), fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (id, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        return !routesToCanary(id, lo) || routesToCanary(id, hi);
      }),
    );
  });
});

describe('canarySettings', () => {
  it('takes the canary version’s fields over the stable version’s over the defaults', () => {
    const doc = (canary: PolicyDocument['canary']) => ({ canary }) as PolicyDocument;
    assert.deepEqual(canarySettings(doc(undefined)), CANARY_DEFAULTS);
    assert.deepEqual(canarySettings(doc({ max_cost_ratio: 3 }), doc({ max_cost_ratio: 2, min_samples: 5 })), {
      ...CANARY_DEFAULTS,
      max_cost_ratio: 3,
      min_samples: 5,
    });
  });
});

describe('p95 / windowStats / SlidingWindows', () => {
  it('p95 is the nearest-rank 95th percentile', () => {
    assert.equal(p95([]), null);
    assert.equal(p95([7]), 7);
    assert.equal(p95(Array.from({ length: 100 }, (_, i) => i + 1)), 95);
    assert.equal(p95(Array.from({ length: 20 }, (_, i) => 20 - i)), 19);
  });

  it('reports a figure only with min_samples samples of its kind', () => {
    const samples: CanarySample[] = [
      ...Array.from({ length: 3 }, (_, i): CanarySample => ({ kind: 'latency', at: 1, tenant: 't', route: 'qa', latencyMs: 100 * (i + 1) })),
      { kind: 'judged', at: 1, tenant: 't', route: 'qa', pass: true, groundedness: 1 },
      { kind: 'judged', at: 1, tenant: 't', route: 'qa', pass: false, groundedness: 0 },
      { kind: 'cost', at: 1, costUsd: 0.002 },
    ];
    assert.deepEqual(windowStats(samples, 2), {
      latencySamples: 3,
      p95LatencyMs: 300,
      judgedSamples: 2,
      passRate: 0.5,
      meanGroundedness: 0.5,
      costSamples: 1,
      meanCostUsd: null,
    });
  });

  it('keeps samples per version inside the window only', () => {
    const w = new SlidingWindows(1000);
    w.add(1, { kind: 'cost', at: 100, costUsd: 1 });
    w.add(1, { kind: 'latency', at: 900, tenant: 't', route: 'qa', latencyMs: 5 });
    w.add(2, { kind: 'cost', at: 900, costUsd: 2 });
    assert.equal(w.of(1, 1150).length, 1);
    assert.deepEqual(w.scopes(1, 1150), [{ tenant: 't', route: 'qa' }]);
    assert.equal(w.of(1, 1150, { tenant: 't', route: 'other' }).length, 0);
    w.prune(1150);
    assert.equal(w.of(1, 0).length, 1);
    w.clear();
    assert.equal(w.of(2, 1000).length, 0);
  });
});

describe('evaluateCanary', () => {
  const base = { settings, stable: stats(), canary: stats(), routes: [{ slo, stable: stats(), canary: stats() }] };

  it('keeps a canary that is as good as stable', () => {
    assert.equal(evaluateCanary(base).action, 'keep');
  });

  it('rolls back on cost beyond the tolerance, naming the figures', () => {
    const v = evaluateCanary({ ...base, canary: stats({ meanCostUsd: 0.01 }) });
    assert.equal(v.action, 'rollback');
    if (v.action !== 'rollback') return;
    assert.equal(v.metric, 'cost');
    assert.match(v.cause, /^cost per request 1\.000e-2 USD > 1\.5 × stable 1\.000e-3 USD \(50 vs 50 samples\)$/);
  });

  it('rolls back on p95 latency and on a quality drop beyond their tolerances, not within them', () => {
    assert.equal(evaluateCanary({ ...base, canary: stats({ p95LatencyMs: 1500 }) }).action, 'keep');
    const slow = evaluateCanary({ ...base, canary: stats({ p95LatencyMs: 1501 }) });
    assert.equal(slow.action === 'rollback' && slow.metric, 'p95_latency');
    assert.equal(evaluateCanary({ ...base, canary: stats({ passRate: 0.85 }) }).action, 'keep');
    const worse = evaluateCanary({ ...base, canary: stats({ passRate: 0.7 }) });
    assert.equal(worse.action === 'rollback' && worse.metric, 'quality');
  });

  it('rolls back on a route SLO breach the stable version does not share, and not on one it shares', () => {
    const breach = evaluateCanary({ ...base, routes: [{ slo, stable: stats(), canary: stats({ p95LatencyMs: 6000 }) }] });
    assert.equal(breach.action === 'rollback' && breach.metric, 'slo_p95_latency');
    assert.match(breach.action === 'rollback' ? breach.cause : '', /route t\/qa: canary p95 latency 6000 ms > SLO 5000 ms/);
    const shared = evaluateCanary({ ...base, routes: [{ slo, stable: stats({ p95LatencyMs: 7000 }), canary: stats({ p95LatencyMs: 6000 }) }] });
    assert.equal(shared.action, 'keep');
    const quality = evaluateCanary({ ...base, routes: [{ slo, stable: stats(), canary: stats({ meanGroundedness: 0.2 }) }] });
    assert.equal(quality.action === 'rollback' && quality.metric, 'slo_quality');
  });

  it('waits while either version is short of samples, whatever the canary’s figures', () => {
    const v = evaluateCanary({
      ...base,
      stable: stats({ meanCostUsd: null, costSamples: 3 }),
      canary: stats({ meanCostUsd: 1, costSamples: 50 }),
    });
    assert.equal(v.action, 'keep');
    assert.match(v.action === 'keep' ? v.reason : '', /short of 20 samples: cost 50\/3/);
  });
});
