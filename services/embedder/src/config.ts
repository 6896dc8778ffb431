import { loadPlatformConfig, retrievalEnv } from '@llmgov/config';

export const EMBEDDER_CONFIG = Symbol('EMBEDDER_CONFIG');
export const loadEmbedderConfig = () => loadPlatformConfig(retrievalEnv);
export type EmbedderConfig = ReturnType<typeof loadEmbedderConfig>;
