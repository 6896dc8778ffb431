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
