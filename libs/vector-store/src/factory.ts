import { LanceDbVectorStore, type LanceDbVectorStoreOptions } from './lancedb-store.js';
import { QdrantVectorStore, type QdrantVectorStoreOptions } from './qdrant-store.js';
import type { VectorStore } from './types.js';
import { DelayedVectorStore, FAULT_DELAY_FILE_ENV } from './fault-delay.js';

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

/**
 * createVectorStore from the services' validated environment. With the test-only `VECTOR_STORE_FAULT_DELAY_FILE`
 * set (the chaos suite), the store is wrapped in a {@link DelayedVectorStore}.
 * @throws Error when qdrant is chosen without QDRANT_URL.
 */
export function vectorStoreFromSettings(s: VectorStoreSettings, env: Record<string, string | undefined> = process.env): VectorStore {
  let store: VectorStore;
  if (s.VECTOR_STORE === 'qdrant') {
    if (!s.QDRANT_URL) throw new Error('VECTOR_STORE=qdrant needs QDRANT_URL');
    store = createVectorStore({ kind: 'qdrant', url: s.QDRANT_URL });
  } else {
    store = createVectorStore({ kind: 'lancedb', dir: s.VECTOR_STORE_DIR });
  }
  const delayFile = env[FAULT_DELAY_FILE_ENV];
  return delayFile ? new DelayedVectorStore(store, { file: delayFile }) : store;
}
