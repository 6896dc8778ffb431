import { LlmEndpointError } from './errors.js';
import { fetchEngineText, metricsUrl, parsePrometheusText, vllmLoadFromSamples, type PromSample, type ScrapeOptions, type VllmLoad } from './vllm-metrics.js';

/** Which engine's metric names a `/metrics` page uses. */
export type EngineMetricsDialect = 'vllm' | 'llamacpp';

/** One engine's saturation signals on the worker's one model, plus the dialect they were read in. */
export interface EngineLoad extends VllmLoad {
  dialect: EngineMetricsDialect;
}

export interface EngineScrapeOptions extends ScrapeOptions {
  /** `auto` (default) detects the dialect from the metric names: `vllm:*` → vllm, `llamacpp:*` → llamacpp. */
  dialect?: EngineMetricsDialect | 'auto';
  /**
   * llama.cpp only: the server's parallel slots (`--parallel`). When absent it is read from `GET /props`
   * (`total_slots`) on every scrape, one more request; pass it (e.g. from the pool file) to avoid that.
   */
  totalSlots?: number;
}

const LLAMACPP_RUNNING = 'llamacpp:requests_processing';
const LLAMACPP_WAITING = 'llamacpp:requests_deferred';
/** Exported by older llama.cpp servers (until mid-2025); used when present. */
const LLAMACPP_KV_RATIO = 'llamacpp:kv_cache_usage_ratio';

/** The dialect of parsed samples by their name prefixes, or undefined when neither engine's names are there. */
export function detectMetricsDialect(samples: readonly PromSample[]): EngineMetricsDialect | undefined {
  let llamacpp = false;
  for (const s of samples) {
    if (s.name.startsWith('vllm:')) return 'vllm';
    if (s.name.startsWith('llamacpp:')) llamacpp = true;
  }
  return llamacpp ? 'llamacpp' : undefined;
}

/**
 * Maps llama.cpp server metrics onto the saturation model:
 * - running = `llamacpp:requests_processing` (requests holding a slot),
 * - waiting = `llamacpp:requests_deferred` (requests queued for a free slot),
 * - kvCacheUsage = `llamacpp:kv_cache_usage_ratio` when the server exports it, else slot occupancy
 *   `requests_processing / totalSlots`. llama.cpp splits its KV cache (`--ctx-size` tokens) into one fixed region per
 *   slot (`ctx-size / parallel` tokens, the `n_ctx` of each entry of `GET /slots`), so a busy slot holds its region
 *   whatever its length: occupied slots over all slots is the share of KV cache that new requests cannot use. Current
 *   servers (llama.cpp b6000+, xllamacpp 2026.x) export no KV gauge on `/metrics`.
 * Returns the names that were missing (or `totalSlots` when the ratio cannot be formed) instead of guessing.
 */
export function llamacppLoadFromSamples(samples: readonly PromSample[], totalSlots?: number): { load: Omit<VllmLoad, 'scrapedAt'>; missing: string[] } {
  const sum = (name: string): number | undefined => {
    const found = samples.filter((s) => s.name === name);
    return found.length === 0 ? undefined : found.reduce((a, s) => a + s.value, 0);
  };
  const running = sum(LLAMACPP_RUNNING);
  const waiting = sum(LLAMACPP_WAITING);
  const ratio = samples.filter((s) => s.name === LLAMACPP_KV_RATIO).reduce<number | undefined>((a, s) => Math.max(a ?? 0, s.value), undefined);
  const missing: string[] = [];
  if (running === undefined) missing.push(LLAMACPP_RUNNING);
  if (waiting === undefined) missing.push(LLAMACPP_WAITING);
  let kvCacheUsage = 0;
  if (ratio !== undefined) kvCacheUsage = ratio;
  else if (totalSlots !== undefined && Number.isFinite(totalSlots) && totalSlots > 0) kvCacheUsage = Math.min(1, (running ?? 0) / totalSlots);
  else missing.push('totalSlots');
  return { load: { running: running ?? 0, waiting: waiting ?? 0, kvCacheUsage }, missing };
}

/** `GET /props` of a llama.cpp server: its `total_slots`. Throws {@link LlmEndpointError} `engine` when absent. */
export async function fetchLlamacppTotalSlots(baseUrl: string, options: ScrapeOptions = {}): Promise<number> {
  const text = await fetchEngineText(metricsUrl(baseUrl).replace(/\/metrics$/, '/props'), baseUrl, '/props', options, 'application/json');
  let slots: unknown;
  try {
    slots = (JSON.parse(text) as { total_slots?: unknown }).total_slots;
  } catch {
    slots = undefined;
  }
  if (typeof slots !== 'number' || !Number.isInteger(slots) || slots < 1) {
    throw new LlmEndpointError(`${baseUrl} /props has no total_slots; pass totalSlots (the server's --parallel)`, {
      source: 'engine',
      retriable: false,
      endpoint: baseUrl,
    });
  }
  return slots;
}

/**
 * Scrapes an engine's `/metrics` (vLLM or llama.cpp, given or detected) and returns its saturation gauges in the
 * one shape the worker's flow control uses. For vLLM it behaves exactly like `scrapeVllmMetrics` (`modelName`
 * filters by the `model_name` label; llama.cpp serves one model and has no such label, so it is ignored there).
 * Throws {@link LlmEndpointError}: `timeout`, `network`, HTTP-classified errors, or `engine` (not retriable) when the
 * page has neither engine's names or lacks a gauge.
 */
export async function scrapeEngineMetrics(baseUrl: string, options: EngineScrapeOptions = {}): Promise<EngineLoad> {
  const endpoint = baseUrl;
  const wanted = options.dialect ?? 'auto';
  // /props is only needed for llama.cpp without totalSlots; fetched alongside /metrics when the dialect is known.
  const needSlots = (d: EngineMetricsDialect | 'auto'): boolean => d === 'llamacpp' && options.totalSlots === undefined;
  const [text, earlySlots] = await Promise.all([
    fetchEngineText(metricsUrl(baseUrl), endpoint, '/metrics', options),
    needSlots(wanted) ? fetchLlamacppTotalSlots(baseUrl, options) : Promise.resolve(options.totalSlots),
  ]);
  const samples = parsePrometheusText(text);
  const dialect = wanted === 'auto' ? detectMetricsDialect(samples) : wanted;
  if (dialect === undefined) {
    throw new LlmEndpointError(`${endpoint} /metrics has neither vllm:* nor llamacpp:* metrics; is it a vLLM or llama.cpp server?`, {
      source: 'engine',
      retriable: false,
      endpoint,
    });
  }
  let result: { load: Omit<VllmLoad, 'scrapedAt'>; missing: string[] };
  if (dialect === 'vllm') {
    result = vllmLoadFromSamples(samples, options.modelName);
  } else {
    const totalSlots = earlySlots ?? (await fetchLlamacppTotalSlots(baseUrl, options));
    result = llamacppLoadFromSamples(samples, totalSlots);
  }
  if (result.missing.length > 0) {
    const which = dialect === 'vllm' && options.modelName !== undefined ? ` for model_name=${JSON.stringify(options.modelName)}` : '';
    throw new LlmEndpointError(
      `${endpoint} /metrics lacks ${result.missing.join(', ')}${which}; is it a ${dialect === 'vllm' ? 'vLLM' : 'llama.cpp'} server?`,
      {
        source: 'engine',
        retriable: false,
        endpoint,
      },
    );
  }
  return { ...result.load, scrapedAt: Date.now(), dialect };
}
