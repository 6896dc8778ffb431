import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createVectorStore } from './factory.js';
import { LanceDbVectorStore } from './lancedb-store.js';
import { QdrantVectorStore } from './qdrant-store.js';

describe(createVectorStore.name, () => {
  it('builds the store for each kind and checks required settings', async () => {
    const lance = createVectorStore({ kind: 'lancedb', dir: '.local/never-opened' });
    assert.ok(lance instanceof LanceDbVectorStore);
    await lance.close();
    assert.ok(createVectorStore({ kind: 'qdrant', url: 'http://127.0.0.1:6333' }) instanceof QdrantVectorStore);
    assert.throws(() => createVectorStore({ kind: 'lancedb', dir: '' }), /needs dir/);
    assert.throws(() => createVectorStore({ kind: 'qdrant', url: '' }), /needs url/);
  });
});
