import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { indexVersion } from './index-version.js';
import { VectorStoreError } from './errors.js';
import { assertName } from './validate.js';

describe('indexVersion', () => {
  it('names a plain model readably: chunks_<model>_<dimensions>_v1', () => {
    assert.equal(indexVersion({ model: 'all-MiniLM-L6-v2', modelVersion: 'all-MiniLM-L6-v2', dimensions: 384 }), 'chunks_all-MiniLM-L6-v2_384_v1');
  });

  it('adds the version and a hash when the version differs from the name or the name had to be cleaned', () => {
    assert.match(indexVersion({ model: 'local-hashing-ngram', modelVersion: 'v1', dimensions: 384 }), /^chunks_local-hashing-ngram-v1-[0-9a-f]{8}_384_v1$/);
    assert.match(
      indexVersion({ model: 'BAAI/bge-small-en-v1.5', modelVersion: 'BAAI/bge-small-en-v1.5', dimensions: 384 }),
      /^chunks_BAAI-bge-small-en-v1\.5-[0-9a-f]{8}_384_v1$/,
    );
  });

  it('separates the spaces the hashing embedder and MiniLM produce, and dimensions and versions of one model', () => {
    const names = [
      indexVersion({ model: 'local-hashing-ngram', modelVersion: 'v1', dimensions: 384 }),
      indexVersion({ model: 'local-hashing-ngram', modelVersion: 'v1+c3', dimensions: 384 }),
      indexVersion({ model: 'local-hashing-ngram', modelVersion: 'v1', dimensions: 256 }),
      indexVersion({ model: 'all-MiniLM-L6-v2', modelVersion: 'all-MiniLM-L6-v2', dimensions: 384 }),
      indexVersion({ model: 'all-MiniLM-L6-v2', modelVersion: 'rev-2', dimensions: 384 }),
    ];
    assert.equal(new Set(names).size, names.length);
  });

  it('gives a valid collection name for any space, deterministic, and different names for different spaces', () => {
    const space = fc.record({
      model: fc.string({ minLength: 1, maxLength: 200 }),
      modelVersion: fc.string({ maxLength: 50 }),
      dimensions: fc.integer({ min: 1, max: 8192 }),
    });
    fc.assert(
      fc.property(space, space, (a, b) => {
        const name = indexVersion(a);
        assertName('collection', name);
        assert.equal(indexVersion({ ...a }), name);
        const same = a.model === b.model && a.modelVersion === b.modelVersion && a.dimensions === b.dimensions;
        if (!same) assert.notEqual(indexVersion(b), name);
      }),
    );
  });

  it('rejects a space without a model or with bad dimensions', () => {
    assert.throws(() => indexVersion({ model: '', modelVersion: '', dimensions: 384 }), VectorStoreError);
    assert.throws(() => indexVersion({ model: 'm', modelVersion: 'm', dimensions: 0 }), VectorStoreError);
  });
});
