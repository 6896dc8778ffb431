import { z } from 'zod';
import { intFromEnv } from './load-config.js';

/**
 * Retrieval settings shared by embedder, indexer and router.
 * - `VECTOR_STORE`: `lancedb` (embedded, local default; data under `VECTOR_STORE_DIR`) or `qdrant` (`QDRANT_URL`).
 * - `VECTOR_COLLECTION`: the alias services read and write; `VECTOR_COLLECTION_VERSION` the versioned collection behind it.
 * - `EMBEDDINGS`: `local` (deterministic feature-hashing embedder, no model) or `openai` (`EMBEDDINGS_URL`, `EMBEDDINGS_MODEL`).
 * - `EMBEDDING_DIMENSIONS`: dense vector size.
 * - `CHUNK_MAX_TOKENS`, `CHUNK_OVERLAP_TOKENS`: chunk size and overlap in tokens (cl100k_base).
 */
/** Default chunk size of the embedder, cl100k_base tokens (`CHUNK_MAX_TOKENS`). */
export const DEFAULT_CHUNK_MAX_TOKENS = 256;
/** Default overlap of neighbouring chunks, cl100k_base tokens (`CHUNK_OVERLAP_TOKENS`). */
export const DEFAULT_CHUNK_OVERLAP_TOKENS = 32;

export const retrievalEnv = {
  VECTOR_STORE: z.enum(['lancedb', 'qdrant']).default('lancedb'),
  VECTOR_STORE_DIR: z.string().default('.local/vectors'),
  QDRANT_URL: z.url().optional(),
  VECTOR_COLLECTION: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('chunks'),
  VECTOR_COLLECTION_VERSION: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('chunks_v1'),
  EMBEDDINGS: z.enum(['local', 'openai']).default('local'),
  EMBEDDINGS_URL: z.url().optional(),
  EMBEDDINGS_MODEL: z.string().optional(),
  EMBEDDING_DIMENSIONS: intFromEnv(8, 8192).default(384),
  CHUNK_MAX_TOKENS: intFromEnv(16, 8192).default(DEFAULT_CHUNK_MAX_TOKENS),
  CHUNK_OVERLAP_TOKENS: intFromEnv(0, 1024).default(DEFAULT_CHUNK_OVERLAP_TOKENS),
};
