export { startLlamaEngine, localModels, freePort, REPO_ROOT, type LlamaEngineHandle, type LlamaEngineOptions, type LocalModels } from './engine.js';
