import { LlmEndpointError, classifyStatus } from './errors.js';

/** One sample of the Prometheus text exposition format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text exposition format (version 0.0.4) into samples; comments, `# HELP`/`# TYPE` and
 * unparsable lines are skipped. Label values may contain escaped quotes, backslashes, newlines, commas and braces.
 *
 * A tiny parser rather than a dependency: we need three gauges, and the npm parser we looked at
 * (parse-prometheus-text-format 1.1.1, last published 2024-12) adds a package for ~60 lines of work.
 */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample) out.push(sample);
  }
  return out;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseLine(line: string): PromSample | undefined {
  const m = NAME.exec(line);
  if (!m) return undefined;
  const name = m[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const lm = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (!lm) return undefined;
      i += lm[0].length;
      while (line[i] === ' ') i++;
      if (line[i] !== '=') return undefined;
      i++;
      while (line[i] === ' ') i++;
      if (line[i] !== '"') return undefined;
      i++;
      let value = '';
      for (;;) {
        const ch = line[i];
        if (ch === undefined) return undefined;
        if (ch === '\\') {
          const next = line[i + 1];
          value += next === 'n' ? '\n' : (next ?? '');
          i += 2;
          continue;
        }
        if (ch === '"') {
          i++;
          break;
        }
        value += ch;
        i++;
      }
      labels[lm[0]] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0] ?? '');
  if (value === undefined) return undefined;
  return { name, labels, value };
}

function parseValue(s: string): number | undefined {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (s === '') return undefined;
  const n = Number(s);
  return Number.isNaN(n) ? undefined : n;
}

/** The saturation signals of one vLLM server. */
export interface VllmLoad {
  /** Sequences in the running batch (`vllm:num_requests_running`, summed over series). */
  running: number;
  /** Requests queued in the engine (`vllm:num_requests_waiting`, summed over series). */
  waiting: number;
  /** KV-cache usage as a fraction 0..1 (`vllm:kv_cache_usage_perc`, or the older `vllm:gpu_cache_usage_perc`; max over series). */
  kvCacheUsage: number;
  /** When the scrape completed, epoch milliseconds. */
  scrapedAt: number;
}

const RUNNING = 'vllm:num_requests_running';
const WAITING = 'vllm:num_requests_waiting';
const KV = ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'];

/**
 * Extracts the three gauges from parsed samples. Several series (several engines behind one server) are summed for
 * the counts and maxed for KV usage. `modelName` keeps only series with that `model_name` label. Returns the names
 * that were missing instead of guessing values.
 */
export function vllmLoadFromSamples(samples: readonly PromSample[], modelName?: string): { load: Omit<VllmLoad, 'scrapedAt'>; missing: string[] } {
  const relevant = modelName === undefined ? samples : samples.filter((s) => s.labels['model_name'] === modelName);
  const pick = (names: readonly string[]): PromSample[] => {
    for (const n of names) {
      const found = relevant.filter((s) => s.name === n);
      if (found.length > 0) return found;
    }
    return [];
  };
  const running = pick([RUNNING]);
  const waiting = pick([WAITING]);
  const kv = pick(KV);
  const missing: string[] = [];
  if (running.length === 0) missing.push(RUNNING);
  if (waiting.length === 0) missing.push(WAITING);
  if (kv.length === 0) missing.push(KV[0]!);
  return {
    load: {
      running: running.reduce((a, s) => a + s.value, 0),
      waiting: waiting.reduce((a, s) => a + s.value, 0),
      kvCacheUsage: kv.reduce((a, s) => Math.max(a, s.value), 0),
    },
    missing,
  };
}

export interface ScrapeOptions {
  /** Whole-scrape timeout, milliseconds. Default 2000. */
  timeoutMs?: number;
  /** Only series labelled with this `model_name`. */
  modelName?: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  fetch?: typeof globalThis.fetch;
}

/** `/metrics` of a vLLM base URL (a trailing `/v1` is dropped: vLLM serves metrics at the root). */
export function metricsUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '')}/metrics`;
}

/**
 * GETs one URL of an engine and returns the body text. Throws {@link LlmEndpointError}: `timeout`, `network`,
 * HTTP-classified errors (non-2xx), or `client` when the caller's signal aborts. `what` names the request in messages.
 */
export async function fetchEngineText(url: string, endpoint: string, what: string, options: ScrapeOptions = {}, accept = 'text/plain'): Promise<string> {
  const timeoutSignal = AbortSignal.timeout(options.timeoutMs ?? 2000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeoutSignal]) : timeoutSignal;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  try {
    const res = await fetchImpl(url, { headers: { accept, ...options.headers }, signal });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new LlmEndpointError(`${endpoint} ${what} answered HTTP ${res.status}`, { ...classifyStatus(res.status), endpoint, status: res.status });
    }
    return await res.text();
  } catch (err) {
    if (err instanceof LlmEndpointError) throw err;
    if (options.signal?.aborted)
      throw new LlmEndpointError(`${what} scrape of ${endpoint} cancelled`, { source: 'client', retriable: false, cancelled: true, endpoint, cause: err });
    if (timeoutSignal.aborted)
      throw new LlmEndpointError(`${what} scrape of ${endpoint} timed out`, { source: 'timeout', retriable: true, endpoint, cause: err });
    const cause = (err as { cause?: { code?: string } }).cause;
    throw new LlmEndpointError(`${what} scrape of ${endpoint} failed: ${cause?.code ?? (err as Error).message}`, {
      source: 'network',
      retriable: true,
      endpoint,
      cause: err,
    });
  }
}

/**
 * Scrapes a vLLM server's `/metrics` and returns its saturation gauges. Throws {@link LlmEndpointError}: `timeout`,
 * `network`, HTTP-classified errors, or `engine` (not retriable) when a gauge is absent. For llama.cpp servers, or to
 * detect the engine from its metric names, use `scrapeEngineMetrics` (engine-metrics.ts).
 */
export async function scrapeVllmMetrics(baseUrl: string, options: ScrapeOptions = {}): Promise<VllmLoad> {
  const endpoint = baseUrl;
  const text = await fetchEngineText(metricsUrl(baseUrl), endpoint, '/metrics', options);
  const { load, missing } = vllmLoadFromSamples(parsePrometheusText(text), options.modelName);
  if (missing.length > 0) {
    const which = options.modelName === undefined ? '' : ` for model_name=${JSON.stringify(options.modelName)}`;
    throw new LlmEndpointError(`${endpoint} /metrics lacks ${missing.join(', ')}${which}; is it a vLLM server?`, {
      source: 'engine',
      retriable: false,
      endpoint,
    });
  }
  return { ...load, scrapedAt: Date.now() };
}
