import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClassifierError } from './errors.js';
import { dotRow, meanDirection, unitVector } from './vectors.js';

const close = (a: number, b: number, eps = 1e-9): void => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const code = (c: string) => (err: unknown) => err instanceof ClassifierError && err.code === c;

describe('unitVector', () => {
  it('scales to unit length and keeps the direction, for tiny and huge components too', () => {
    assert.deepEqual([...unitVector(new Float32Array([0, -2, 0]), 'v', 3)], [0, -1, 0]);
    for (const scale of [1, 1e-300, 1e300]) {
      const u = unitVector([3 * scale, 4 * scale], 'v');
      close(u[0]!, 0.6);
      close(u[1]!, 0.8);
    }
  });

  it('names the vector and the problem: wrong length, NaN, Infinity, non-number, zero, not an array', () => {
    assert.throws(() => unitVector([1, 2], 'query embedding', 3), code('embedding_dimension_mismatch'));
    assert.throws(() => unitVector([1, 2], 'query embedding', 3), /query embedding has 2 dimensions, expected 3/);
    assert.throws(() => unitVector([], 'v'), code('embedding_dimension_mismatch'));
    assert.throws(() => unitVector([1, Number.NaN, 0], 'v'), /non-finite value at index 1: NaN/);
    assert.throws(() => unitVector([Number.POSITIVE_INFINITY, 0], 'v'), code('embedding_not_finite'));
    assert.throws(() => unitVector(['1', 0] as unknown as number[], 'v'), code('embedding_not_finite'));
    assert.throws(() => unitVector([0, 0, 0], 'v'), code('embedding_zero'));
    assert.throws(() => unitVector('abc' as unknown as number[], 'v'), code('embedding_dimension_mismatch'));
    assert.throws(() => unitVector(null as unknown as number[], 'v'), code('embedding_dimension_mismatch'));
  });
});

describe('meanDirection (the centroid)', () => {
  it('is the renormalised mean of unit vectors', () => {
    const c = meanDirection([unitVector([1, 0], 'a'), unitVector([0, 1], 'b')]);
    close(c[0]!, Math.SQRT1_2);
    close(c[1]!, Math.SQRT1_2);
    const d = meanDirection([unitVector([1, 0, 0], 'a'), unitVector([1, 0, 0], 'b'), unitVector([0, 0, 1], 'c')]);
    close(d[0]!, 2 / Math.sqrt(5));
    close(d[2]!, 1 / Math.sqrt(5));
  });

  it('refuses vectors that cancel out, and an empty list', () => {
    assert.throws(() => meanDirection([unitVector([1, 0], 'a'), unitVector([-1, 0], 'b')]), code('embedding_zero'));
    assert.throws(() => meanDirection([]), code('embedding_zero'));
  });

  it('is the unit vector with the largest summed cosine to its inputs (property)', () => {
    const vec = fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }).filter((v) => v.some((x) => Math.abs(x) > 1e-3));
    fc.assert(
      fc.property(fc.array(vec, { minLength: 1, maxLength: 8 }), (raw) => {
        const units = raw.map((v) => unitVector(v, 'v'));
        let sum = [0, 0, 0, 0];
        for (const u of units) sum = sum.map((x, i) => x + u[i]!);
        fc.pre(Math.hypot(...sum) > 1e-6);
        const c = meanDirection(units);
        close(dot(c, c), 1, 1e-9);
        const total = (u: ArrayLike<number>) => units.reduce((s, v) => s + dot(u, v), 0);
        // Any candidate direction, e.g. each input itself, sums to no more cosine than the centroid.
        for (const candidate of units) assert.ok(total(c) >= total(candidate) - 1e-9);
      }),
    );
  });
});

describe('dotRow', () => {
  it('reads one row of a row-major matrix', () => {
    const m = new Float64Array([1, 2, 3, 4, 5, 6]);
    assert.equal(dotRow(m, 0, new Float64Array([1, 1, 1])), 6);
    assert.equal(dotRow(m, 1, new Float64Array([1, 0, -1])), -2);
  });
});
