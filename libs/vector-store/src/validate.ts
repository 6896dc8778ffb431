import { VectorStoreError } from './errors.js';
import { pointId } from './point-id.js';
import type { ChunkPoint, SearchQuery, SparseVector } from './types.js';

/** Collection and alias names: portable across LanceDB table names and Qdrant collection names. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const MAX_K = 1000;

export function assertName(kind: 'collection' | 'alias', name: string): void {
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('..')) {
    throw new VectorStoreError(`invalid ${kind} name ${JSON.stringify(name)}: use 1-128 of [A-Za-z0-9_.-], starting alphanumeric`, 'invalid_argument');
  }
}

function assertNonEmpty(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new VectorStoreError(`${field} must be a non-empty string`, 'invalid_argument');
  }
}

export function assertDense(field: string, dense: unknown, dimensions?: number): void {
  if (!(Array.isArray(dense) || dense instanceof Float32Array)) {
    throw new VectorStoreError(`${field} must be an array of numbers`, 'invalid_argument');
  }
  if (dimensions !== undefined && dense.length !== dimensions) {
    throw new VectorStoreError(`${field} has ${dense.length} dimensions, the collection has ${dimensions}`, 'invalid_argument');
  }
  for (let i = 0; i < dense.length; i++) {
    const x = dense[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new VectorStoreError(`${field}[${i}] is not a finite number`, 'invalid_argument');
  }
}

export function assertSparse(field: string, sparse: SparseVector): void {
  const { indices, values } = sparse;
  if (!Array.isArray(indices) || !Array.isArray(values) || indices.length !== values.length) {
    throw new VectorStoreError(`${field} needs indices and values of equal length`, 'invalid_argument');
  }
  const seen = new Set<number>();
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    if (!Number.isInteger(index) || index < 0 || index > 0xffffffff || seen.has(index)) {
      throw new VectorStoreError(`${field}.indices must be unique non-negative 32-bit integers`, 'invalid_argument');
    }
    seen.add(index);
    if (!Number.isFinite(values[i])) throw new VectorStoreError(`${field}.values[${i}] is not finite`, 'invalid_argument');
  }
}

export function validatePoint(p: ChunkPoint, dimensions?: number): void {
  assertNonEmpty('tenantId', p.tenantId);
  assertNonEmpty('documentId', p.documentId);
  assertNonEmpty('chunkId', p.chunkId);
  assertNonEmpty('contentHash', p.contentHash);
  assertNonEmpty('embeddingModel', p.embeddingModel);
  if (typeof p.text !== 'string') throw new VectorStoreError('text must be a string', 'invalid_argument');
  const expected = pointId(p.tenantId, p.chunkId);
  if (p.id !== expected) {
    // Enforced so a point can never overwrite another tenant's point by reusing its id.
    throw new VectorStoreError(`point id ${p.id} is not pointId(tenantId, chunkId) = ${expected}`, 'invalid_argument');
  }
  assertDense(`point ${p.id} dense`, p.dense, dimensions);
  if (p.sparse !== undefined) assertSparse(`point ${p.id} sparse`, p.sparse);
  if (p.metadata !== undefined) {
    for (const [k, v] of Object.entries(p.metadata)) {
      if (typeof v !== 'string') throw new VectorStoreError(`metadata.${k} must be a string`, 'invalid_argument');
    }
  }
}

export function validateQuery(q: SearchQuery): void {
  assertNonEmpty('tenantId', q.tenantId);
  if (!Number.isInteger(q.k) || q.k < 1 || q.k > MAX_K) {
    throw new VectorStoreError(`k must be an integer in [1, ${MAX_K}], got ${q.k}`, 'invalid_argument');
  }
  if (q.mode !== 'dense' && q.mode !== 'sparse' && q.mode !== 'hybrid') {
    throw new VectorStoreError(`mode must be dense, sparse or hybrid, got ${String(q.mode)}`, 'invalid_argument');
  }
  if (q.mode !== 'sparse') assertDense('query dense', q.dense);
  if (q.sparse !== undefined) assertSparse('query sparse', q.sparse);
}

/** Keeps the last occurrence of each id (a batch with repeats behaves like sequential upserts). */
export function dedupeById(points: ChunkPoint[]): ChunkPoint[] {
  const byId = new Map<string, ChunkPoint>();
  for (const p of points) {
    byId.delete(p.id);
    byId.set(p.id, p);
  }
  return [...byId.values()];
}

/** How many candidates each leg of a hybrid search fetches before fusion. */
export function hybridCandidates(k: number): number {
  return Math.min(MAX_K, Math.max(4 * k, 50));
}
