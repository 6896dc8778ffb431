import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseTier } from './tier-policy.js';

const base = { tierHint: null, promptTokens: 10, minQuality: 0.5, maxCostUsd: 0.05 };

describe('chooseTier', () => {
  it('honours a hint, then quality, then length, else S', () => {
    assert.deepEqual(chooseTier({ ...base, tierHint: 'L' }, 48), { tier: 'L', reason: 'tier_hint' });
    assert.equal(chooseTier({ ...base, minQuality: 0.95 }, 48).tier, 'L');
    assert.equal(chooseTier({ ...base, minQuality: 0.75 }, 48).tier, 'M');
    assert.equal(chooseTier({ ...base, promptTokens: 49 }, 48).tier, 'M');
    assert.deepEqual(chooseTier(base, 48), { tier: 'S', reason: 'default_small' });
  });
  it('caps tiny budgets at S even with a high quality bar, and ignores bogus hints', () => {
    assert.equal(chooseTier({ ...base, maxCostUsd: 0, minQuality: 0.99 }, 48).tier, 'S');
    assert.equal(chooseTier({ ...base, tierHint: "L'; DROP" }, 48).tier, 'S');
  });
});
