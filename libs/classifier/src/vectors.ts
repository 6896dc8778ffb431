import { ClassifierError, type ClassifierErrorCode } from './errors.js';

/**
 * Vector helpers for cosine similarity. Own code rather than a linear-algebra package: a dot product, a norm and a
 * mean over a few hundred 384-dimension vectors are all we need, and a plain loop over a Float64Array is what keeps
 * the per-request cost in microseconds.
 */

/**
 * `v` scaled to unit L2 length, as a new Float64Array, after checking it.
 * @param what names the vector in error messages, e.g. `query embedding`.
 * @param dimensions the required length, or undefined to accept any non-empty length.
 * @throws ClassifierError `embedding_dimension_mismatch` (wrong or zero length, or not an array), `embedding_not_finite`
 *   (NaN, ±Infinity or a non-number at some index), `embedding_zero` (all zeros: no direction, so no cosine). `codes` replaces the codes for example
 *   embeddings.
 */
export function unitVector(
  v: ArrayLike<number>,
  what: string,
  dimensions?: number,
  codes: { dimension: ClassifierErrorCode; finite: ClassifierErrorCode; zero: ClassifierErrorCode } = {
    dimension: 'embedding_dimension_mismatch',
    finite: 'embedding_not_finite',
    zero: 'embedding_zero',
  },
): Float64Array {
  if (v === null || typeof v !== 'object' || typeof v.length !== 'number') throw new ClassifierError(codes.dimension, `${what} is not an array of numbers`);
  if (v.length === 0 || (dimensions !== undefined && v.length !== dimensions)) {
    throw new ClassifierError(codes.dimension, `${what} has ${v.length} dimensions, expected ${dimensions ?? 'at least 1'}`);
  }
  const out = new Float64Array(v.length);
  let maxAbs = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new ClassifierError(codes.finite, `${what} has a non-finite value at index ${i}: ${String(x)}`);
    out[i] = x;
    maxAbs = Math.max(maxAbs, Math.abs(x));
  }
  if (maxAbs === 0) throw new ClassifierError(codes.zero, `${what} is the zero vector: it has no direction, so no cosine`);
  // Scaled by the largest component first, so that the sum of squares can neither overflow nor underflow.
  let sq = 0;
  for (let i = 0; i < out.length; i++) {
    out[i]! /= maxAbs;
    sq += out[i]! * out[i]!;
  }
  const inv = 1 / Math.sqrt(sq);
  for (let i = 0; i < out.length; i++) out[i]! *= inv;
  return out;
}

/** Dot product of the `dimensions`-long row `row` of `matrix` (row-major) with `v`; cosine when both are unit length. */
export function dotRow(matrix: Float64Array, row: number, v: Float64Array): number {
  const d = v.length;
  const base = row * d;
  let s = 0;
  for (let i = 0; i < d; i++) s += matrix[base + i]! * v[i]!;
  return s;
}

/**
 * The centroid of unit vectors on the sphere: their arithmetic mean, renormalised to unit length (the "mean direction"
 * of directional statistics; Mardia & Jupp, Directional Statistics, 2000, §9.2.1). Each input is normalised first so that
 * every example weighs the same whatever its raw norm.
 * @param vectors unit vectors of one length.
 * @throws ClassifierError `embedding_zero` when the vectors cancel out (no mean direction), or when `vectors` is empty.
 */
export function meanDirection(vectors: readonly Float64Array[]): Float64Array {
  const first = vectors[0];
  if (first === undefined) throw new ClassifierError('embedding_zero', 'no vectors to average');
  const sum = new Float64Array(first.length);
  for (const v of vectors) for (let i = 0; i < sum.length; i++) sum[i]! += v[i]!;
  // The inputs are unit vectors, so |Σv| ≤ n; below n · 1e-9 what is left is rounding error, not a direction.
  let sq = 0;
  for (const x of sum) sq += x * x;
  if (Math.sqrt(sq) < vectors.length * 1e-9)
    throw new ClassifierError('embedding_zero', `the ${vectors.length} vectors cancel out: their mean has no direction`);
  return unitVector(sum, 'mean of the example embeddings', first.length);
}
