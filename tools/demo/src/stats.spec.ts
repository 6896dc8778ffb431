import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { percentile, recallAtK } from './stats.js';

describe('stats', () => {
  it('computes nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(v, 50), 50);
    assert.equal(percentile(v, 95), 95);
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });
  it('computes recall@k over the first k documents only', () => {
    const items = [
      { gold: 'a', retrieved: ['x', 'a'] },
      { gold: 'b', retrieved: ['x', 'y', 'z', 'w', 'v', 'b'] },
    ];
    assert.equal(recallAtK(items, 5), 0.5);
    assert.equal(recallAtK(items, 6), 1);
    assert.equal(recallAtK([], 5), 0);
  });
});
