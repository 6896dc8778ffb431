export { startEmbeddingsServer, type EmbeddingsServerHandle, type ServerOptions } from './server.js';
export {
  loadEmbeddingModel,
  missingModelFiles,
  ModelFilesMissingError,
  REQUIRED_MODEL_FILES,
  defaultModelDir,
  lengthGroups,
  type EmbeddingModel,
  type LoadModelOptions,
} from './model.js';
export { EmbeddingBatcher, QueueFullError, BatcherClosedError, type BatchResult, type BatcherOptions } from './batcher.js';
