/** A sparse vector: parallel arrays, `indices` unique (the encoder emits them ascending). */
export interface SparseVector {
  indices: number[];
  values: number[];
}

/** One chunk of one document, as stored in a vector collection. */
export interface ChunkPoint {
  /** Deterministic UUID of (tenantId, chunkId): always `pointId(tenantId, chunkId)`. */
  id: string;
  tenantId: string;
  documentId: string;
  chunkId: string;
  text: string;
  dense: number[] | Float32Array;
  /** Lexical vector (BM25 tf saturation) — used by Qdrant; LanceDB indexes `text` itself. */
  sparse?: SparseVector;
  contentHash: string;
  /** `model@version` (or similar) of the dense vector, for re-embedding decisions. */
  embeddingModel: string;
  metadata?: Record<string, string>;
}

export type SearchMode = 'dense' | 'sparse' | 'hybrid';

export interface SearchQuery {
  /** Mandatory: every search is restricted to this tenant's points. */
  tenantId: string;
  /** Query embedding; required for `dense` and `hybrid`. */
  dense: number[] | Float32Array;
  /** Query-side sparse vector (Qdrant's lexical leg). */
  sparse?: SparseVector;
  /** Raw query text (LanceDB's lexical leg: its own BM25 full-text index). */
  text?: string;
  /** Number of hits wanted, 1..1000. */
  k: number;
  mode: SearchMode;
}

export interface SearchHit {
  id: string;
  chunkId: string;
  documentId: string;
  text: string;
  /**
   * Higher is better. Its scale depends on the mode: cosine similarity (dense), BM25 (sparse),
   * reciprocal-rank-fusion score (hybrid). Compare scores only within one result list.
   */
  score: number;
}

export interface EnsureCollectionOptions {
  dimensions: number;
}

/**
 * A tenant-isolated store of chunk vectors. Collection arguments may be alias names: versioned
 * collections (`chunks_v3`) sit behind a stable alias (`chunks`) that `setAlias` switches atomically.
 */
export interface VectorStore {
  /** Creates the collection (and its indexes) if missing; checks the dimensions if present. */
  ensureCollection(name: string, opts: EnsureCollectionOptions): Promise<void>;
  /** Inserts or replaces points by `id`; re-upserting a point never duplicates it. */
  upsert(collection: string, points: ChunkPoint[]): Promise<void>;
  /**
   * Deletes every chunk of one document of one tenant, except those whose chunk id is in `keepChunkIds` (the chunks of
   * its current version: what is left over from a longer earlier version goes); returns how many were deleted.
   */
  deleteByDocument(collection: string, tenantId: string, documentId: string, keepChunkIds?: readonly string[]): Promise<number>;
  /** Top-k hits for the query, ALWAYS restricted to `q.tenantId`. */
  search(collection: string, q: SearchQuery): Promise<SearchHit[]>;
  /** Points in the collection, or only those of one tenant. */
  count(collection: string, tenantId?: string): Promise<number>;
  /** Points `alias` at `collection` (creating or moving the alias). */
  setAlias(alias: string, collection: string): Promise<void>;
  /** The collection `alias` points at, or undefined when there is no such alias. */
  resolveAlias(alias: string): Promise<string | undefined>;
  /** The names of every collection (aliases not included). */
  listCollections(): Promise<string[]>;
  close(): Promise<void>;
}
