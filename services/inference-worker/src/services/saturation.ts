import type { SaturationConfig } from '../pools/pool-config.js';

/**
 * Last scrape of an endpoint's saturation gauges, whatever the engine: vLLM's `vllm:num_requests_running`,
 * `…_waiting`, `vllm:kv_cache_usage_perc`, or llama.cpp's `llamacpp:requests_processing`, `…_deferred` and slot
 * occupancy (see `scrapeEngineMetrics` in @llmgov/llm-clients for the mapping).
 */
export interface EngineLoad {
  running: number;
  waiting: number;
  /** 0..1 */
  kvCacheUsage: number;
  /** Epoch ms of the scrape. */
  scrapedAt: number;
  /** Which engine's metric names were read (`vllm`, `llamacpp`), when the scraper says. */
  dialect?: string;
}

/**
 * Saturation of one endpoint, after llm-d's saturation detector: the larger of waiting queue / queue threshold and
 * KV-cache usage / KV threshold, so 1.0 means "at a threshold". Missing or stale metrics (older than
 * `metrics_staleness_ms`) count as saturated (1.0 at least), as in llm-d.
 */
export function endpointSaturation(load: EngineLoad | undefined, now: number, cfg: SaturationConfig): number {
  if (!load || now - load.scrapedAt > cfg.metrics_staleness_ms) return 1;
  return Math.max(load.waiting / cfg.queue_depth_threshold, load.kvCacheUsage / cfg.kv_cache_util_threshold);
}

/**
 * Saturation of a pool: the mean over its usable endpoints of min(1, endpoint saturation). It reaches 1.0 exactly when
 * every endpoint is saturated (llm-d's rule for a saturated pool) and grades the way there. With no usable endpoint
 * (all circuits open) the pool is saturated (1.0).
 */
export function poolSaturation(endpointSaturations: readonly number[]): number {
  if (endpointSaturations.length === 0) return 1;
  return endpointSaturations.reduce((a, s) => a + Math.min(1, s), 0) / endpointSaturations.length;
}

/**
 * Pause/resume decision with hysteresis: pause when saturation reaches the high watermark, resume only once it falls
 * to the low watermark, so consumption does not flap around one threshold.
 */
export class Hysteresis {
  private isPaused = false;

  constructor(
    private high: number,
    private low: number,
  ) {
    this.setWatermarks(high, low);
  }

  setWatermarks(high: number, low: number): void {
    if (!(low < high)) throw new RangeError(`low watermark ${low} must be below high watermark ${high}`);
    this.high = high;
    this.low = low;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** Feeds one saturation reading; returns 'pause' or 'resume' when the state changes, else undefined. */
  update(saturation: number): 'pause' | 'resume' | undefined {
    if (!this.isPaused && saturation >= this.high) {
      this.isPaused = true;
      return 'pause';
    }
    if (this.isPaused && saturation <= this.low) {
      this.isPaused = false;
      return 'resume';
    }
    return undefined;
  }
}
