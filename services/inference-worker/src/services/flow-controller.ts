import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { KafkaHandlerHost } from '@llmgov/kafka-runtime';
import { routedTopicForTier, type Tier } from '@llmgov/contracts';
import { LOGGER, type Logger } from '@llmgov/observability';
import { WORKER_CONFIG, type WorkerConfig } from '../config.js';
import { TIERS } from '../pools/pool-config.js';
import type { ScrapeFn } from '../adapters/engine-metrics-scraper.js';
import { BREAKER_STATE_VALUE } from './circuit-breaker.js';
import { Hysteresis } from './saturation.js';
import { PoolRegistry } from './pool-registry.js';
import { WorkerMetrics } from './worker-metrics.js';

/** Injection token of the scrape function (tests swap it). */
export const SCRAPE_FN = Symbol('SCRAPE_FN');

/**
 * Drives Kafka consumption from the engines' own saturation signals. Every `SCRAPE_INTERVAL_MS` it scrapes each
 * endpoint's `/metrics`, computes each pool's saturation, and pauses the tier's consumer group when it reaches the
 * high watermark, resuming at the low watermark (hysteresis). It also keeps each consumer's in-flight bound equal to
 * its pool's bound, across config reloads.
 */
@Injectable()
export class FlowController implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly hysteresis: Record<Tier, Hysteresis>;
  /** Each tier's saturation at the last round (0 before the first). */
  private readonly lastSaturation: Record<Tier, number> = { S: 0, M: 0, L: 0 };
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SCRAPE_FN) private readonly scrape: ScrapeFn,
    private readonly registry: PoolRegistry,
    private readonly host: KafkaHandlerHost,
    private readonly metrics: WorkerMetrics,
  ) {
    const s = registry.config.saturation;
    this.hysteresis = {
      S: new Hysteresis(s.high_watermark, s.low_watermark),
      M: new Hysteresis(s.high_watermark, s.low_watermark),
      L: new Hysteresis(s.high_watermark, s.low_watermark),
    };
  }

  onModuleInit(): void {
    for (const tier of TIERS) {
      this.host.configureGroup(tier, { maxInFlight: this.registry.pool(tier).maxInflight, enabled: this.config.WORKER_TIERS.includes(tier) });
    }
    this.registry.onChange((cfg) => {
      for (const tier of TIERS) {
        this.hysteresis[tier].setWatermarks(cfg.saturation.high_watermark, cfg.saturation.low_watermark);
        this.host.consumer(tier)?.setMaxInFlight(this.registry.pool(tier).maxInflight);
      }
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.tick();
    // A failed round is logged and the next one tries again: flow control must never take the worker down.
    this.timer = setInterval(
      () => void this.tick().catch((err: unknown) => this.logger.error({ error: (err as Error).message }, 'flow-control round failed')),
      this.config.SCRAPE_INTERVAL_MS,
    );
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** A tier's pool saturation (0..1) at the last round, and whether its routed topic is paused (the capacity gate's signal). */
  status(tier: Tier): { saturation: number; paused: boolean } {
    return { saturation: this.lastSaturation[tier], paused: this.hysteresis[tier].paused };
  }

  /** One round: scrape every endpoint, then decide per tier. Overlapping rounds are skipped. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const timeoutMs = Math.max(50, this.registry.config.saturation.metrics_staleness_ms / 2);
      await Promise.all(
        TIERS.flatMap((tier) => {
          const pool = this.registry.pool(tier);
          return pool.endpointConfigs.map(async (endpoint) => {
            try {
              pool.setLoad(endpoint.url, await this.scrape(endpoint, timeoutMs));
            } catch (err) {
              this.metrics.scrapeErrors.inc({ endpoint: endpoint.url });
              this.logger.debug({ endpoint: endpoint.url, error: (err as Error).message }, 'metrics scrape failed');
            }
          });
        }),
      );
      for (const tier of TIERS) this.decide(tier);
    } finally {
      this.ticking = false;
    }
  }

  private decide(tier: Tier): void {
    const pool = this.registry.pool(tier);
    const saturation = pool.saturation();
    this.lastSaturation[tier] = saturation;
    this.metrics.poolSaturation.set({ tier }, saturation);
    for (const e of pool.snapshot()) {
      this.metrics.inflight.set({ tier, endpoint: e.url }, e.inflight);
      this.metrics.breakerState.set({ tier, endpoint: e.url }, BREAKER_STATE_VALUE[e.breaker]);
    }
    const action = this.hysteresis[tier].update(saturation);
    // Applied every round, not only on a change: the tier's consumer may start after the first decision.
    const consumer = this.host.consumer(tier);
    const topic = routedTopicForTier(tier);
    if (this.hysteresis[tier].paused) consumer?.pause([topic]);
    else consumer?.resume([topic]);
    if (!action) return;
    this.metrics.flowControl.inc({ tier, action });
    this.logger.info(
      { tier, topic, saturation: Number(saturation.toFixed(3)), action, endpoints: pool.snapshot() },
      `consumption ${action === 'pause' ? 'paused' : 'resumed'}`,
    );
  }
}
