import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { accuracyReport, distribution, percentile } from './metrics.js';

describe('percentile (nearest rank)', () => {
  it('picks the ceil(p/100 · n)-th smallest value', () => {
    const v = [5, 1, 4, 2, 3];
    assert.equal(percentile(v, 50), 3);
    assert.equal(percentile(v, 95), 5);
    assert.equal(percentile(v, 0), 1);
    assert.equal(percentile(v, 100), 5);
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.deepEqual(distribution([1, 2, 3, 4]), { n: 4, p50: 2, p95: 4, p99: 4, max: 4 });
  });
  it('is one of the values and grows with p (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1 }), fc.integer({ min: 0, max: 99 }), (v, p) => {
        assert.ok(v.includes(percentile(v, p)));
        assert.ok(percentile(v, p) <= percentile(v, p + 1));
      }),
    );
  });
});

describe('accuracyReport', () => {
  it('fills the confusion matrix and derives accuracy, precision, overall and macro', () => {
    const r = accuracyReport(['a', 'b', 'c'], ['a', 'a', 'a', 'b', 'c'], ['a', 'a', 'b', 'b', 'a']);
    assert.deepEqual(r.confusion, { a: { a: 2, b: 1, c: 0 }, b: { a: 0, b: 1, c: 0 }, c: { a: 1, b: 0, c: 0 } });
    assert.deepEqual(r.perIntent.a, { rows: 3, correct: 2, accuracy: 0.6667, precision: 0.6667 });
    assert.deepEqual(r.perIntent.b, { rows: 1, correct: 1, accuracy: 1, precision: 0.5 });
    assert.deepEqual(r.perIntent.c, { rows: 1, correct: 0, accuracy: 0, precision: 0 });
    assert.equal(r.overall, 0.6);
    assert.equal(r.macro, Math.round(((2 / 3 + 1 + 0) / 3) * 10_000) / 10_000);
  });
  it('refuses unknown labels and mismatched lengths', () => {
    assert.throws(() => accuracyReport(['a'], ['a'], ['z']), /not an intent/);
    assert.throws(() => accuracyReport(['a'], ['a', 'a'], ['a']), /2 labels but 1 predictions/);
  });
});
