import { intFromEnv, loadPlatformConfig, retrievalEnv } from '@llmgov/config';

/** indexer settings: retrieval settings plus `INDEX_BATCH_MAX` (points per upsert) and `INDEX_BATCH_WAIT_MS` (max wait, ms). */
export const loadIndexerConfig = () =>
  loadPlatformConfig({ ...retrievalEnv, INDEX_BATCH_MAX: intFromEnv(1, 10_000).default(256), INDEX_BATCH_WAIT_MS: intFromEnv(0, 10_000).default(50) });
export type IndexerConfig = ReturnType<typeof loadIndexerConfig>;
export const INDEXER_CONFIG = Symbol('INDEXER_CONFIG');
