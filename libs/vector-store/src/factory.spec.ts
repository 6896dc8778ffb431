import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createVectorStore, vectorStoreFromSettings } from './factory.js';
import { DelayedVectorStore } from './fault-delay.js';
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

describe('vectorStoreFromSettings', () => {
  it('wraps the store in the test-only delay only when VECTOR_STORE_FAULT_DELAY_FILE is set', async () => {
    const plain = vectorStoreFromSettings({ VECTOR_STORE: 'lancedb', VECTOR_STORE_DIR: '.local/never-opened' }, {});
    assert.ok(plain instanceof LanceDbVectorStore);
    await plain.close();
    const delayed = vectorStoreFromSettings(
      { VECTOR_STORE: 'lancedb', VECTOR_STORE_DIR: '.local/never-opened' },
      { VECTOR_STORE_FAULT_DELAY_FILE: '/nonexistent' },
    );
    assert.ok(delayed instanceof DelayedVectorStore);
    await delayed.close();
  });
});
