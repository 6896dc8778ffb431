import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DriftWindow, jsDivergence, scoreBin } from './drift.js';

const counts = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 0, max: 1000 }), { minKeys: 1 });
const nonEmpty = counts.filter((d) => Object.values(d).some((v) => v > 0));
const m = (d: Record<string, number>) => new Map(Object.entries(d));

describe('jsDivergence (bits, log2)', () => {
  it('is symmetric', () => {
    fc.assert(fc.property(nonEmpty, nonEmpty, (p, q) => Math.abs(jsDivergence(m(p), m(q)) - jsDivergence(m(q), m(p))) < 1e-12));
  });

  it('is 0 for identical distributions, also when the counts differ only by scale', () => {
    fc.assert(
      fc.property(nonEmpty, fc.integer({ min: 1, max: 50 }), (p, k) => {
        const scaled = Object.fromEntries(Object.entries(p).map(([c, v]) => [c, v * k]));
        return jsDivergence(m(p), m(p)) === 0 && jsDivergence(m(p), m(scaled)) < 1e-12;
      }),
    );
  });

  it('is within [0, 1], and exactly 1 for disjoint supports', () => {
    fc.assert(
      fc.property(nonEmpty, nonEmpty, (p, q) => {
        const d = jsDivergence(m(p), m(q));
        return d >= 0 && d <= 1;
      }),
    );
    assert.equal(jsDivergence(m({ a: 3, b: 1 }), m({ c: 5 })), 1);
  });

  it('matches a hand-computed value', () => {
    // P = (1, 0), Q = (½, ½): M = (¾, ¼); JSD = ½·log2(4/3) + ½·(½·log2(⅔) + ½·log2(2)) ≈ 0.311278
    assert.ok(Math.abs(jsDivergence(m({ a: 1 }), m({ a: 1, b: 1 })) - 0.311278) < 1e-6);
  });

  it('is NaN when a side has no mass, and refuses negative counts', () => {
    assert.ok(Number.isNaN(jsDivergence(m({}), m({ a: 1 }))));
    assert.ok(Number.isNaN(jsDivergence(m({ a: 0 }), m({ a: 1 }))));
    assert.throws(() => jsDivergence(m({ a: -1 }), m({ a: 1 })), RangeError);
  });
});

describe('scoreBin', () => {
  it('bins 0..1 in tenths and clamps the ends', () => {
    assert.deepEqual(
      [0, 0.05, 0.1, 0.55, 0.999, 1, 1.7, -2, Number.NaN].map((x) => scoreBin(x)),
      ['0.0-0.1', '0.0-0.1', '0.1-0.2', '0.5-0.6', '0.9-1.0', '0.9-1.0', '0.9-1.0', '0.0-0.1', '0.0-0.1'],
    );
  });
});

describe('DriftWindow', () => {
  it('compares the window before the current one with the current one, and forgets older observations', () => {
    const w = new DriftWindow(1000);
    const now = 10_000;
    for (let i = 0; i < 10; i++) w.observe('factoid', now - 1500); // reference window
    for (let i = 0; i < 10; i++) w.observe('factoid', now - 500); // current window
    assert.equal(w.divergence(now), 0);
    for (let i = 0; i < 10; i++) w.observe('legal', now - 400);
    const shifted = w.divergence(now);
    assert.ok(shifted > 0.1, `a shift to legal diverges (${shifted})`);
    w.observe('ancient', now - 5000);
    assert.equal(w.windows(now).reference.has('ancient'), false);
    // Later, everything is in the reference window and the current one is empty.
    assert.ok(Number.isNaN(w.divergence(now + 1000)));
  });
});
