import { HashingEmbedder } from './hashing-embedder.js';
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
