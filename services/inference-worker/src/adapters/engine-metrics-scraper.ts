import { scrapeEngineMetrics } from '@llmgov/llm-clients';
import type { EndpointConfig } from '../pools/pool-config.js';
import type { EngineLoad } from '../services/saturation.js';

/** What the scraper needs of an endpoint's config. */
export type ScrapeTarget = Pick<EndpointConfig, 'url' | 'metrics_dialect' | 'max_num_seqs'>;

/**
 * Reads one endpoint's saturation gauges from its `/metrics`, in the endpoint's dialect (`vllm`, `llamacpp`, or
 * `auto`: detected from the metric names on every scrape). For llama.cpp the endpoint's `max_num_seqs` is the
 * server's `--parallel` slot count, passed as `totalSlots` (busy slots ÷ slots stands for KV-cache usage; no extra
 * `/props` request per scrape).
 * @throws LlmEndpointError when the endpoint cannot be scraped or lacks its dialect's gauges.
 */
export type ScrapeFn = (endpoint: ScrapeTarget, timeoutMs: number) => Promise<EngineLoad>;

export const scrapeEngineLoad: ScrapeFn = (endpoint, timeoutMs) =>
  scrapeEngineMetrics(endpoint.url, { timeoutMs, dialect: endpoint.metrics_dialect, totalSlots: endpoint.max_num_seqs });
