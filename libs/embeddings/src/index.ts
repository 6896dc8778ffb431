export type { EmbeddingsClient, EmbeddingsResult, EmbedOptions, SparseVector } from './types.js';
export { EmbeddingsError } from './errors.js';
export type { EmbeddingsErrorCode, EmbeddingsErrorOptions } from './errors.js';
export { HashingEmbedder, HASHING_EMBEDDER_MODEL, HASHING_EMBEDDER_VERSION, type HashingEmbedderOptions } from './hashing-embedder.js';
export { OpenAIEmbeddingsClient, parseEmbeddingsResponse, type OpenAIEmbeddingsClientOptions } from './openai-client.js';
export { Bm25SparseEncoder, type Bm25SparseEncoderOptions } from './bm25.js';
export {
  createEmbeddingsClient,
  configuredEmbeddingSpace,
  embeddingsClientFromSettings,
  EmbeddingsClientCache,
  type EmbeddingSpace,
  type EmbeddingsConfig,
  type EmbeddingsSettings,
} from './factory.js';
export { tokenize, normalizeText, ENGLISH_STOP_WORDS, MAX_TOKEN_LENGTH, type TokenizeOptions } from './text.js';
export { fnv1a32, fmix32, featureHash, hashedBucket } from './hash.js';
export { encodeText, countTokens, decodeTokens, breakLongRuns, MAX_RUN_CHARS } from './tokens.js';
export { chunkText, type Chunk } from './chunker.js';
