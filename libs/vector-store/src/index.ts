export type { ChunkPoint, EnsureCollectionOptions, SearchHit, SearchMode, SearchQuery, SparseVector, VectorStore } from './types.js';
export { VectorStoreError, type VectorStoreErrorCode } from './errors.js';
export { pointId, uuidV5, isUuid, CHUNK_POINT_NAMESPACE } from './point-id.js';
export { reciprocalRankFusion, RRF_K, type Fused } from './rrf.js';
export { sqlString, filterKey } from './sql.js';
export { LanceDbVectorStore, type LanceDbVectorStoreOptions } from './lancedb-store.js';
export { QdrantVectorStore, type QdrantVectorStoreOptions } from './qdrant-store.js';
export { createVectorStore, vectorStoreFromSettings, type VectorStoreConfig, type VectorStoreSettings } from './factory.js';
export { MAX_K } from './validate.js';
