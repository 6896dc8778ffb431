import { loadPlatformConfig } from '@llmgov/config';

/**
 * feedback-labeler settings. The service has no variables of its own yet: it uses the shared platform settings
 * (`KAFKA_BROKERS`, `SCHEMA_REGISTRY_URL`, `DATABASE_URL`, `HTTP_PORT`, ...; see `libs/config`). The loader is
 * kept so a bad environment is reported the same way as in every other service.
 */
export const labelerEnv = {};

export const LABELER_CONFIG = Symbol('LABELER_CONFIG');
export const loadLabelerConfig = () => loadPlatformConfig(labelerEnv);
export type LabelerConfig = ReturnType<typeof loadLabelerConfig>;
