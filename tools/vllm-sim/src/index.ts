export { startEngine, type EngineHandle, type SimStats, type FaultSettings } from './engine.js';
export { DEFAULT_OPTIONS, resolveOptions, type EngineOptions } from './options.js';
export { METRIC_NAMES } from './metrics.js';
export { ManualClock, systemClock, type Clock } from './clock.js';
export { Scheduler, type SchedulerConfig, type SequenceSpec, type FinishReason } from './scheduler.js';
export { extractiveAnswer, questionFromChat, questionFromPrompt, NO_CONTEXT_ANSWER, NOT_FOUND_ANSWER } from './answer.js';
export { loadTokenizer, type Tokenizer, type TokenizerName } from './tokenizer.js';
