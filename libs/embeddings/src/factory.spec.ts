import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddingsClientCache, configuredEmbeddingSpace, embeddingsClientFromSettings } from './factory.js';

describe('configuredEmbeddingSpace', () => {
  it('for the local embedder, is exactly the space its vectors report', async () => {
    const settings = { EMBEDDINGS: 'local' as const, EMBEDDING_DIMENSIONS: 96 };
    const served = await embeddingsClientFromSettings(settings).embed(['Super Bowl 50']);
    assert.deepEqual(configuredEmbeddingSpace(settings), { model: served.model, modelVersion: served.modelVersion, dimensions: served.dimensions });
  });

  it('for an OpenAI-compatible endpoint, is the configured model name, and needs one', () => {
    assert.deepEqual(configuredEmbeddingSpace({ EMBEDDINGS: 'openai', EMBEDDING_DIMENSIONS: 384, EMBEDDINGS_MODEL: 'all-MiniLM-L6-v2' }), {
      model: 'all-MiniLM-L6-v2',
      modelVersion: 'all-MiniLM-L6-v2',
      dimensions: 384,
    });
    assert.throws(() => configuredEmbeddingSpace({ EMBEDDINGS: 'openai', EMBEDDING_DIMENSIONS: 384 }), /EMBEDDINGS_MODEL/);
  });
});

describe('EmbeddingsClientCache', () => {
  it('gives one client per embedding space and another for a different space', () => {
    const cache = new EmbeddingsClientCache();
    const space = { embeddings: 'local' as const, embeddingsUrl: null, model: 'local-hashing', dimensions: 64 };
    const a = cache.clientFor(space);
    assert.equal(cache.clientFor({ ...space }), a);
    assert.notEqual(cache.clientFor({ ...space, dimensions: 128 }), a);
    assert.notEqual(cache.clientFor({ embeddings: 'openai', embeddingsUrl: 'http://127.0.0.1:1/v1', model: 'm', dimensions: 64 }), a);
  });
});
