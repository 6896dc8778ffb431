import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configuredEmbeddingSpace, embeddingsClientFromSettings } from './factory.js';

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
