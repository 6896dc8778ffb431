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

/** The embedding settings of an index version (libs/persistence `IndexVersionRecord` has these fields). */
export interface EmbeddingSpace {
  /** `local` (the hashing embedder) or `openai` (an OpenAI-compatible endpoint at `embeddingsUrl`). */
  embeddings: 'local' | 'openai';
  embeddingsUrl: string | null;
  model: string;
  dimensions: number;
}

/**
 * One embeddings client per distinct embedding space, created on first use and kept: the embedder and the router
 * embed into several index versions (issue 12 §2) and must not open a client per record.
 */
export class EmbeddingsClientCache {
  private readonly clients = new Map<string, EmbeddingsClient>();

  /** The client of `space` (created once per distinct embeddings kind, URL, model and dimensions). */
  clientFor(space: EmbeddingSpace): EmbeddingsClient {
    const key = JSON.stringify([space.embeddings, space.embeddingsUrl, space.model, space.dimensions]);
    let client = this.clients.get(key);
    if (!client) {
      client = createEmbeddingsClient(
        space.embeddings === 'local'
          ? { kind: 'local', dimensions: space.dimensions }
          : { kind: 'openai', baseUrl: space.embeddingsUrl ?? '', model: space.model, dimensions: space.dimensions },
      );
      this.clients.set(key, client);
    }
    return client;
  }
}
