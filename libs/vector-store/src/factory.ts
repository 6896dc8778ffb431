import { LanceDbVectorStore, type LanceDbVectorStoreOptions } from './lancedb-store.js';
import { QdrantVectorStore, type QdrantVectorStoreOptions } from './qdrant-store.js';
import type { VectorStore } from './types.js';

export type VectorStoreConfig = ({ kind: 'lancedb' } & LanceDbVectorStoreOptions) | ({ kind: 'qdrant' } & Omit<QdrantVectorStoreOptions, 'client'>);

/** `{kind: 'lancedb', dir}` locally (embedded, no server), `{kind: 'qdrant', url, apiKey?}` in production. */
export function createVectorStore(config: VectorStoreConfig): VectorStore {
  switch (config.kind) {
    case 'lancedb': {
      const { kind: _kind, ...options } = config;
      if (!options.dir) throw new Error('vector store config: kind "lancedb" needs dir');
      return new LanceDbVectorStore(options);
    }
    case 'qdrant': {
      const { kind: _kind, ...options } = config;
      if (!options.url) throw new Error('vector store config: kind "qdrant" needs url');
      return new QdrantVectorStore(options);
    }
    default: {
      const kind: never = config;
      throw new Error(`vector store config: unknown kind ${JSON.stringify(kind)}`);
    }
  }
}

/** The retrieval environment variables (libs/config `retrievalEnv`) that choose a vector store. */
export interface VectorStoreSettings {
  VECTOR_STORE: 'lancedb' | 'qdrant';
  VECTOR_STORE_DIR: string;
  QDRANT_URL?: string | undefined;
}

/** createVectorStore from the services' validated environment. @throws Error when qdrant is chosen without QDRANT_URL. */
export function vectorStoreFromSettings(s: VectorStoreSettings): VectorStore {
  if (s.VECTOR_STORE === 'qdrant') {
    if (!s.QDRANT_URL) throw new Error('VECTOR_STORE=qdrant needs QDRANT_URL');
    return createVectorStore({ kind: 'qdrant', url: s.QDRANT_URL });
  }
  return createVectorStore({ kind: 'lancedb', dir: s.VECTOR_STORE_DIR });
}
