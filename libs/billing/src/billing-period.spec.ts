import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { alertState, billingDay, billingMonth, billingPeriod, reachedLevels, reachedLevelsMicro } from './billing-period.js';

describe('billing periods', () => {
  it('uses UTC days and months', () => {
    const lastMsOfOctober = Date.UTC(2026, 9, 31, 23, 59, 59, 999);
    assert.equal(billingDay(lastMsOfOctober), '2026-10-31');
    assert.equal(billingDay(lastMsOfOctober + 1), '2026-11-01');
    assert.equal(billingMonth(lastMsOfOctober), '2026-10');
    assert.equal(billingMonth('2026-11-01'), '2026-11');
    assert.equal(billingPeriod('day', lastMsOfOctober + 1), '2026-11-01');
    assert.equal(billingPeriod('month', lastMsOfOctober), '2026-10');
  });
});

describe('reachedLevels', () => {
  it('reaches WARN_80 at 80 % and EXCEEDED_100 at 100 %', () => {
    assert.deepEqual(reachedLevels(7_999_999, 10), []);
    assert.deepEqual(reachedLevels(8_000_000, 10), ['WARN_80']);
    assert.deepEqual(reachedLevels(9_999_999, 10), ['WARN_80']);
    assert.deepEqual(reachedLevels(10_000_000, 10), ['WARN_80', 'EXCEEDED_100']);
    assert.deepEqual(reachedLevels(25_000_000, 10), ['WARN_80', 'EXCEEDED_100']);
  });

  it('is exact at thresholds that are not representable in binary floating point', () => {
    // 0.07 * 0.8 = 0.05600000000000001 in floating point; 56 000 micro-USD must still reach 80 %
    assert.deepEqual(reachedLevels(56_000, 0.07), ['WARN_80']);
    assert.deepEqual(reachedLevels(55_999, 0.07), []);
  });

  it("warns at the policy's alert_at instead of 80 % when given, exactly, and still exceeds at 100 %", () => {
    assert.deepEqual(reachedLevelsMicro(899_999, 1_000_000, 0.9), []);
    assert.deepEqual(reachedLevelsMicro(900_000, 1_000_000, 0.9), ['WARN_80']);
    assert.deepEqual(reachedLevelsMicro(499_999, 1_000_000, 0.5), []);
    assert.deepEqual(reachedLevelsMicro(500_000, 1_000_000, 0.5), ['WARN_80']);
    assert.deepEqual(reachedLevelsMicro(1_000_000, 1_000_000, 1), ['WARN_80', 'EXCEEDED_100']);
    // 0.07 USD at 0.7: 49 000 micro-USD exactly, though 0.07 * 0.7 = 0.04900000000000001 in floating point.
    assert.deepEqual(reachedLevelsMicro(49_000, 70_000, 0.7), ['WARN_80']);
    // Exact where spent × 10 000 is beyond 2^53: a budget of 2 billion USD, one micro-USD either side of 80 %.
    const big = 2_000_000_000_000_000 / 1000;
    assert.deepEqual(reachedLevelsMicro(big * 0.8 - 1, big), []);
    assert.deepEqual(reachedLevelsMicro(big * 0.8, big), ['WARN_80']);
    assert.equal(alertState(900_000, 1_000_000, 0.95), 'OK');
  });

  it('treats a zero budget as exceeded by any spend', () => {
    assert.deepEqual(reachedLevels(0, 0), []);
    assert.deepEqual(reachedLevels(1, 0), ['WARN_80', 'EXCEEDED_100']);
  });
});

describe('alertState', () => {
  it('is the highest level reached, in micro-USD', () => {
    assert.equal(alertState(799_999, 1_000_000), 'OK');
    assert.equal(alertState(800_000, 1_000_000), 'WARN_80');
    assert.equal(alertState(1_000_000, 1_000_000), 'EXCEEDED_100');
    assert.deepEqual(reachedLevelsMicro(0, 0), []);
    assert.equal(alertState(1, 0), 'EXCEEDED_100');
  });
});
