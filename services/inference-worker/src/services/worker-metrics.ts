import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { PlatformMetrics } from '@llmgov/observability';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The inference worker's Prometheus metrics (names in seconds, per Prometheus conventions). */
@Injectable()
export class WorkerMetrics {
  /** Request event → call sent (Kafka backlog + waiting for an endpoint slot). */
  readonly queue: Histogram<'tier'>;
  readonly ttft: Histogram<'tier'>;
  /** Mean time per output token after the first. */
  readonly tpot: Histogram<'tier'>;
  /** Call sent → last token. */
  readonly e2e: Histogram<'tier'>;
  readonly inflight: Gauge<'tier' | 'endpoint'>;
  readonly poolSaturation: Gauge<'tier'>;
  /** 0 closed, 1 half-open, 2 open. */
  readonly breakerState: Gauge<'tier' | 'endpoint'>;
  readonly callErrors: Counter<'tier' | 'endpoint' | 'source'>;
  readonly jobsFailed: Counter<'tier' | 'code'>;
  readonly scrapeErrors: Counter<'endpoint'>;
  readonly flowControl: Counter<'tier' | 'action'>;
  readonly configVersion: Gauge;
  readonly configReloads: Counter<'outcome'>;
  /** Capacity reports (CapacityPublisher) by outcome: published, failed. */
  readonly capacityReports: Counter<'outcome'>;
  /**
   * 1 for each prompt template the tier renders (`template` = `name@version`), Prometheus' `_info` convention:
   * `source="pool"` the pool's own (records without a template, and fallbacks), `source="policy"` a template routed
   * records named that this worker rendered for the tier since its pool config was last loaded.
   */
  readonly promptTemplate: Gauge<'tier' | 'template' | 'api' | 'source'>;
  /** Routed records whose named template was not rendered (the pool's own was), by reason: unknown_template, api_mismatch. */
  readonly promptTemplateFallbacks: Counter<'tier' | 'reason'>;

  constructor(platform: PlatformMetrics) {
    const registers = [platform.registry];
    const hist = (name: string, help: string) => new Histogram({ name, help, labelNames: ['tier'], buckets: SECONDS, registers });
    this.queue = hist('inference_queue_seconds', 'Time from the request event to the call being sent, seconds');
    this.ttft = hist('inference_ttft_seconds', 'Time to first token, seconds');
    this.tpot = hist('inference_tpot_seconds', 'Mean time per output token after the first, seconds');
    this.e2e = hist('inference_e2e_seconds', 'Call sent to last token, seconds');
    this.inflight = new Gauge({ name: 'inference_inflight_requests', help: 'Calls this worker has in flight', labelNames: ['tier', 'endpoint'], registers });
    this.poolSaturation = new Gauge({
      name: 'inference_pool_saturation',
      help: 'Pool saturation (1 = every endpoint at a threshold)',
      labelNames: ['tier'],
      registers,
    });
    this.breakerState = new Gauge({
      name: 'inference_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['tier', 'endpoint'],
      registers,
    });
    this.callErrors = new Counter({
      name: 'inference_call_errors_total',
      help: 'Failed calls by source (engine, network, timeout, rate_limit, client)',
      labelNames: ['tier', 'endpoint', 'source'],
      registers,
    });
    this.jobsFailed = new Counter({
      name: 'inference_jobs_failed_total',
      help: 'Job attempts failed by the worker, by error code',
      labelNames: ['tier', 'code'],
      registers,
    });
    this.scrapeErrors = new Counter({ name: 'inference_metrics_scrape_errors_total', help: 'Failed /metrics scrapes', labelNames: ['endpoint'], registers });
    this.flowControl = new Counter({ name: 'inference_flow_control_total', help: 'Pause and resume decisions', labelNames: ['tier', 'action'], registers });
    this.configVersion = new Gauge({ name: 'inference_pool_config_version', help: 'Version of the pool config in use', registers });
    this.promptTemplate = new Gauge({
      name: 'inference_prompt_template_info',
      help: 'Prompt template rendered per tier (name@version), the API it renders for, and its source (pool: the pool own; policy: named by routed records); value 1',
      labelNames: ['tier', 'template', 'api', 'source'],
      registers,
    });
    this.promptTemplateFallbacks = new Counter({
      name: 'inference_prompt_template_fallbacks_total',
      help: "Routed records that named a template this worker did not render, the pool's own rendered instead, by reason (unknown_template, api_mismatch)",
      labelNames: ['tier', 'reason'],
      registers,
    });
    this.capacityReports = new Counter({
      name: 'inference_capacity_reports_total',
      help: 'Capacity reports written to Redis for the routers, by outcome (published, failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.configReloads = new Counter({
      name: 'inference_pool_config_reloads_total',
      help: 'Pool config reloads by outcome',
      labelNames: ['outcome'],
      registers,
    });
  }
}
