import { z } from 'zod';
import { intFromEnv } from './load-config.js';

/**
 * Retrieval settings shared by embedder, indexer and router.
 * - `VECTOR_STORE`: `lancedb` (embedded, local default; data under `VECTOR_STORE_DIR`) or `qdrant` (`QDRANT_URL`).
 * - `VECTOR_COLLECTION_VERSION`: unset (default), each chunk lives in the collection of its embedding space,
 *   `chunks_<model>_<dimensions>_v1` (libs/vector-store `indexVersion`): the indexer writes a chunk into the collection of
 *   the model that embedded it, the router searches the collection of its query vector's model, so switching between the
 *   hashing embedder and a real model never mixes vector spaces. Set, a pinned collection name both use as is; the indexer
 *   then refuses chunks of any other model than the configured one.
 * - `VECTOR_COLLECTION`: an alias the indexer points at the configured model's collection at start-up, for operators.
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
    .optional(),
  EMBEDDINGS: z.enum(['local', 'openai']).default('local'),
  EMBEDDINGS_URL: z.url().optional(),
  EMBEDDINGS_MODEL: z.string().optional(),
  EMBEDDING_DIMENSIONS: intFromEnv(8, 8192).default(384),
  CHUNK_MAX_TOKENS: intFromEnv(16, 8192).default(DEFAULT_CHUNK_MAX_TOKENS),
  CHUNK_OVERLAP_TOKENS: intFromEnv(0, 1024).default(DEFAULT_CHUNK_OVERLAP_TOKENS),
};
