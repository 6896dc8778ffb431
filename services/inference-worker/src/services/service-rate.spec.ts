import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SERVICE_RATE_TAU_MS, ServiceRateTracker } from './service-rate.js';

describe('ServiceRateTracker', () => {
  it('has no rate or service time before the first completion, even while busy', () => {
    const t = new ServiceRateTracker();
    assert.deepEqual(t.sample('S', 1000, true), { ratePerS: null, serviceMs: null });
  });

  it('starts at the first interval’s rate, then moves by 1 − exp(−Δt/τ) toward each interval’s rate', () => {
    const t = new ServiceRateTracker();
    for (let i = 0; i < 4; i++) t.record('S', 500);
    assert.equal(t.sample('S', 2000, true).ratePerS, 2); // 4 completions in 2 s
    t.record('S', 500);
    const alpha = 1 - Math.exp(-1000 / SERVICE_RATE_TAU_MS);
    assert.equal(t.sample('S', 1000, true).ratePerS, 2 + alpha * (1 - 2));
  });

  it('keeps the rate through idle intervals but lets busy intervals without completions pull it down', () => {
    const t = new ServiceRateTracker();
    t.record('M', 100);
    const first = t.sample('M', 1000, false).ratePerS!;
    assert.equal(t.sample('M', 1000, false).ratePerS, first); // idle: unchanged
    assert.ok(t.sample('M', 1000, true).ratePerS! < first); // busy, nothing done: slower
  });

  it('keeps tiers apart and averages the service time of completions', () => {
    const t = new ServiceRateTracker();
    t.record('S', 1000);
    t.record('S', 2000);
    const s = t.sample('S', 1000, false);
    assert.ok(s.serviceMs! > 1000 && s.serviceMs! < 2000);
    assert.deepEqual(t.sample('L', 1000, false), { ratePerS: null, serviceMs: null });
  });
});
