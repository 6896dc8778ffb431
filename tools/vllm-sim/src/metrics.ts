import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SchedulerSnapshot } from './scheduler.js';

/** Names exported at `/metrics`. The `vllm:` ones match vLLM's; `vllm_sim:` ones exist only in the simulator. */
export const METRIC_NAMES = {
  running: 'vllm:num_requests_running',
  waiting: 'vllm:num_requests_waiting',
  kvUsage: 'vllm:kv_cache_usage_perc',
  ttft: 'vllm:time_to_first_token_seconds',
  tpot: 'vllm:time_per_output_token_seconds',
  e2e: 'vllm:e2e_request_latency_seconds',
  queue: 'vllm:request_queue_time_seconds',
  promptTokens: 'vllm:prompt_tokens_total',
  generationTokens: 'vllm:generation_tokens_total',
  success: 'vllm:request_success_total',
  preemptions: 'vllm:num_preemptions_total',
  rejected: 'vllm_sim:requests_rejected_total',
} as const;

// Bucket bounds in seconds, in the spirit of vLLM's (sub-10 ms bounds added because simulated steps are short).
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160];
const TPOT_BUCKETS = [0.001, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5];
const LATENCY_BUCKETS = [0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960];

/** Per-engine Prometheus registry (several engines may live in one process). */
export class SimMetrics {
  readonly registry = new Registry();
  private readonly ttft: Histogram<'model_name'>;
  private readonly tpot: Histogram<'model_name'>;
  private readonly e2e: Histogram<'model_name'>;
  private readonly queue: Histogram<'model_name'>;
  private readonly promptTokens: Counter<'model_name'>;
  private readonly generationTokens: Counter<'model_name'>;
  private readonly success: Counter<'model_name' | 'finished_reason'>;
  private readonly preemptions: Counter<'model_name'>;
  private readonly rejected: Counter<'model_name' | 'reason'>;

  /**
   * @param modelName label value for every series (vLLM labels with the first served model name)
   * @param snapshot read at scrape time for the gauges
   */
  constructor(
    private readonly modelName: string,
    snapshot: () => SchedulerSnapshot,
  ) {
    const registers = [this.registry];
    const labelNames = ['model_name'] as const;
    const model = modelName;
    new Gauge({
      name: METRIC_NAMES.running,
      help: 'Number of requests in the running batch.',
      labelNames,
      registers,
      collect() {
        this.set({ model_name: model }, snapshot().running);
      },
    });
    new Gauge({
      name: METRIC_NAMES.waiting,
      help: 'Number of requests waiting to be scheduled.',
      labelNames,
      registers,
      collect() {
        this.set({ model_name: model }, snapshot().waiting);
      },
    });
    new Gauge({
      name: METRIC_NAMES.kvUsage,
      help: 'KV-cache usage: tokens held / capacity (1 = full).',
      labelNames,
      registers,
      collect() {
        this.set({ model_name: model }, snapshot().kvUsage);
      },
    });
    this.ttft = new Histogram({ name: METRIC_NAMES.ttft, help: 'Time to first token, seconds.', labelNames, registers, buckets: TTFT_BUCKETS });
    this.tpot = new Histogram({
      name: METRIC_NAMES.tpot,
      help: 'Time between consecutive output tokens, seconds.',
      labelNames,
      registers,
      buckets: TPOT_BUCKETS,
    });
    this.e2e = new Histogram({ name: METRIC_NAMES.e2e, help: 'End-to-end request latency, seconds.', labelNames, registers, buckets: LATENCY_BUCKETS });
    this.queue = new Histogram({
      name: METRIC_NAMES.queue,
      help: 'Time spent waiting before first scheduling, seconds.',
      labelNames,
      registers,
      buckets: LATENCY_BUCKETS,
    });
    this.promptTokens = new Counter({ name: METRIC_NAMES.promptTokens, help: 'Prefilled prompt tokens.', labelNames, registers });
    this.generationTokens = new Counter({ name: METRIC_NAMES.generationTokens, help: 'Generated tokens.', labelNames, registers });
    this.success = new Counter({
      name: METRIC_NAMES.success,
      help: 'Finished requests by finish reason (stop, length, abort).',
      labelNames: ['model_name', 'finished_reason'],
      registers,
    });
    this.preemptions = new Counter({ name: METRIC_NAMES.preemptions, help: 'Sequences preempted for lack of KV cache (recompute).', labelNames, registers });
    this.rejected = new Counter({
      name: METRIC_NAMES.rejected,
      help: 'vllm-sim only: requests refused with 503 because the waiting queue was full.',
      labelNames: ['model_name', 'reason'],
      registers,
    });
    // Series exist from the start (value 0), as in vLLM.
    for (const c of [this.promptTokens, this.generationTokens, this.preemptions]) c.inc({ model_name: model }, 0);
    for (const r of ['stop', 'length', 'abort']) this.success.inc({ model_name: model, finished_reason: r }, 0);
    this.rejected.inc({ model_name: model, reason: 'queue_full' }, 0);
  }

  observeQueue(ms: number): void {
    this.queue.observe({ model_name: this.modelName }, ms / 1000);
  }
  observePrompt(tokens: number): void {
    this.promptTokens.inc({ model_name: this.modelName }, tokens);
  }
  observeToken(first: boolean, sinceMs: number, sinceArrivalMs: number): void {
    this.generationTokens.inc({ model_name: this.modelName });
    if (first) this.ttft.observe({ model_name: this.modelName }, sinceArrivalMs / 1000);
    else this.tpot.observe({ model_name: this.modelName }, sinceMs / 1000);
  }
  observeFinish(reason: string, e2eMs: number): void {
    this.success.inc({ model_name: this.modelName, finished_reason: reason });
    if (reason !== 'abort') this.e2e.observe({ model_name: this.modelName }, e2eMs / 1000);
  }
  observePreemption(): void {
    this.preemptions.inc({ model_name: this.modelName });
  }
  observeRejected(reason: string): void {
    this.rejected.inc({ model_name: this.modelName, reason });
  }
}
