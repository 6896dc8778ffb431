export {
  ChatCompletionsClient,
  chatCompletionsUrl,
  completionsUrl,
  requestApi,
  type ChatCompletionRequest,
  type TextCompletionRequest,
  type CompletionRequestBase,
  type CompletionApi,
  type ChatCompletionsClientOptions,
  type ChatMessage,
  type ChatRole,
  type CompletionRequest,
  type CompletionResult,
  type CompletionTimings,
  type CompletionUsage,
} from './chat-completions-client.js';
export { LlmEndpointError, classifyStatus, parseRetryAfter, type LlmErrorSource, type LlmEndpointErrorInit } from './errors.js';
export { SseParser, type SseEvent } from './sse.js';
export {
  scrapeVllmMetrics,
  parsePrometheusText,
  vllmLoadFromSamples,
  metricsUrl,
  fetchEngineText,
  type PromSample,
  type ScrapeOptions,
  type VllmLoad,
} from './vllm-metrics.js';
export {
  scrapeEngineMetrics,
  detectMetricsDialect,
  llamacppLoadFromSamples,
  fetchLlamacppTotalSlots,
  type EngineLoad,
  type EngineMetricsDialect,
  type EngineScrapeOptions,
} from './engine-metrics.js';
