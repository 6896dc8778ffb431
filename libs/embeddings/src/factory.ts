import { HASHING_EMBEDDER_MODEL, HASHING_EMBEDDER_VERSION, HashingEmbedder } from './hashing-embedder.js';
import { OpenAIEmbeddingsClient } from './openai-client.js';
import type { EmbeddingsClient } from './types.js';

export interface EmbeddingsConfig {
  kind: 'local' | 'openai';
  /** Required for `openai`. */
  baseUrl?: string;
  /** Required for `openai`; ignored by `local` (always `local-hashing-ngram`). */
  model?: string;
  dimensions?: number;
  apiKey?: string;
  maxBatchSize?: number;
  timeoutMs?: number;
  /** `local` only: add character trigrams. */
  charTrigrams?: boolean;
}

export function createEmbeddingsClient(config: EmbeddingsConfig): EmbeddingsClient {
  switch (config.kind) {
    case 'local':
      return new HashingEmbedder({
        ...(config.dimensions === undefined ? {} : { dimensions: config.dimensions }),
        ...(config.charTrigrams === undefined ? {} : { charTrigrams: config.charTrigrams }),
      });
    case 'openai': {
      if (!config.baseUrl) throw new Error('embeddings config: kind "openai" needs baseUrl');
      if (!config.model) throw new Error('embeddings config: kind "openai" needs model');
      return new OpenAIEmbeddingsClient({
        baseUrl: config.baseUrl,
        model: config.model,
        ...(config.dimensions === undefined ? {} : { dimensions: config.dimensions }),
        ...(config.apiKey === undefined ? {} : { apiKey: config.apiKey }),
        ...(config.maxBatchSize === undefined ? {} : { maxBatchSize: config.maxBatchSize }),
        ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
      });
    }
    default: {
      const kind: never = config.kind;
      throw new Error(`embeddings config: unknown kind ${String(kind)}`);
    }
  }
}

/** The retrieval environment variables (libs/config `retrievalEnv`) that choose an embeddings client. */
export interface EmbeddingsSettings {
  EMBEDDINGS: 'local' | 'openai';
  EMBEDDING_DIMENSIONS: number;
  EMBEDDINGS_URL?: string | undefined;
  EMBEDDINGS_MODEL?: string | undefined;
}

/** createEmbeddingsClient from the services' validated environment. */
export function embeddingsClientFromSettings(s: EmbeddingsSettings): EmbeddingsClient {
  return createEmbeddingsClient({
    kind: s.EMBEDDINGS,
    dimensions: s.EMBEDDING_DIMENSIONS,
    ...(s.EMBEDDINGS_URL ? { baseUrl: s.EMBEDDINGS_URL } : {}),
    ...(s.EMBEDDINGS_MODEL ? { model: s.EMBEDDINGS_MODEL } : {}),
  });
}

/**
 * The embedding space the configured client is expected to produce: `{model, modelVersion, dimensions}`. For `local`,
 * the hashing embedder's model and version (`local-hashing-ngram`, `v1`); for `openai`, `EMBEDDINGS_MODEL` as name and
 * version (what `OpenAIEmbeddingsClient` reports when the server answers under the requested name). The served identity
 * in each `EmbeddingsResult` is the authority; this is what a service that embeds nothing (the indexer) expects.
 * @throws Error when `EMBEDDINGS=openai` has no `EMBEDDINGS_MODEL`.
 */
export function configuredEmbeddingSpace(s: EmbeddingsSettings): { model: string; modelVersion: string; dimensions: number } {
  if (s.EMBEDDINGS === 'local') return { model: HASHING_EMBEDDER_MODEL, modelVersion: HASHING_EMBEDDER_VERSION, dimensions: s.EMBEDDING_DIMENSIONS };
  if (!s.EMBEDDINGS_MODEL) throw new Error('EMBEDDINGS=openai needs EMBEDDINGS_MODEL');
  return { model: s.EMBEDDINGS_MODEL, modelVersion: s.EMBEDDINGS_MODEL, dimensions: s.EMBEDDING_DIMENSIONS };
}
