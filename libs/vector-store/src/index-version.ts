import { createHash } from 'node:crypto';
import { VectorStoreError } from './errors.js';
import { assertName } from './validate.js';

/**
 * The vector space a dense vector lives in: the model that produced it, that model's version and the vector length.
 * Vectors of two different spaces must never be compared, so they never share a collection.
 */
export interface EmbeddingSpace {
  /** Model name as the embeddings endpoint reports it, e.g. `all-MiniLM-L6-v2`, `local-hashing-ngram`. */
  model: string;
  /** Model version (equal to `model` when the endpoint reports none, as OpenAI-compatible servers do). */
  modelVersion: string;
  /** Vector length. */
  dimensions: number;
}

/** Bump when what a collection holds changes for reasons other than the model (point schema, chunk layout). */
export const INDEX_REVISION = 'v1';

/** Longest model part kept readable in a collection name; longer ones are cut (the hash keeps them apart). */
const MAX_MODEL_CHARS = 64;

/**
 * The versioned collection that holds the chunks of one embedding space: `chunks_<model>_<dimensions>_v1`, e.g.
 * `chunks_all-MiniLM-L6-v2_384_v1`. The indexer writes a chunk into the collection of the space its vector came from
 * and the router searches the collection of its query vector's space, so vectors of two models never meet.
 *
 * The model part is the model name; characters outside `[A-Za-z0-9.-]` become `-`. When that is lossy, when the name is
 * longer than 64 characters, or when the version differs from the name, the version (if any) and the first 8 hex digits
 * of SHA-256 over `[model, modelVersion, dimensions]` (JSON) are appended, so different spaces get different names
 * (barring a model whose own name imitates another's hashed form):
 * `chunks_local-hashing-ngram-v1-<hash>_384_v1`, `chunks_BAAI-bge-small-en-v1.5-<hash>_384_v1`.
 * @throws VectorStoreError (invalid_argument) when the model is empty, dimensions is not a positive integer, or
 *   `prefix` / `revision` make an invalid collection name.
 */
export function indexVersion(space: EmbeddingSpace, prefix = 'chunks', revision: string = INDEX_REVISION): string {
  const { model, modelVersion, dimensions } = space;
  if (!model || !Number.isInteger(dimensions) || dimensions < 1) {
    throw new VectorStoreError(`an embedding space needs a model name and positive integer dimensions, got ${JSON.stringify(space)}`, 'invalid_argument');
  }
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/\.{2,}/g, '.');
  let part = clean(model);
  const exact = part === model && model.length <= MAX_MODEL_CHARS && modelVersion === model;
  if (!exact) {
    part = part.slice(0, MAX_MODEL_CHARS);
    if (modelVersion && modelVersion !== model) part += `-${clean(modelVersion).slice(0, 24)}`;
    part += `-${createHash('sha256')
      .update(JSON.stringify([model, modelVersion, dimensions]))
      .digest('hex')
      .slice(0, 8)}`;
  }
  const name = `${prefix}_${part}_${dimensions}_${revision}`;
  assertName('collection', name);
  return name;
}
