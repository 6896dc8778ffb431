import { scrapeVllmMetrics } from '@llmgov/llm-clients';
import type { EngineLoad } from '../services/saturation.js';

/**
 * Reads one endpoint's vLLM saturation gauges from its `/metrics`.
 * @throws LlmEndpointError when the endpoint cannot be scraped or lacks the vLLM gauges.
 */
export type ScrapeFn = (url: string, timeoutMs: number) => Promise<EngineLoad>;

export const scrapeEngineLoad: ScrapeFn = (url, timeoutMs) => scrapeVllmMetrics(url, { timeoutMs });
