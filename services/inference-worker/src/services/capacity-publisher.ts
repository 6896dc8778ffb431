import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { KafkaHandlerHost } from '@llmgov/kafka-runtime';
import { routedTopicForTier, type Tier } from '@llmgov/contracts';
import { LOGGER, type Logger } from '@llmgov/observability';
import { TierCapacityStore } from '@llmgov/persistence';
import type { TierCapacityReport } from '@llmgov/policy';
import { WORKER_CONFIG, type WorkerConfig } from '../config.js';
import { INSTANCE_ID } from '../adapters/job-lease.js';
import { FlowController } from './flow-controller.js';
import { PoolRegistry } from './pool-registry.js';
import { ServiceRateTracker } from './service-rate.js';
import { WorkerMetrics } from './worker-metrics.js';

/** A report outlives this many publish intervals without a refresh (at least 1 s), then expires in Redis. */
const REPORT_TTL_INTERVALS = 3;

/**
 * Publishes this instance's capacity report of every tier it serves, every `CAPACITY_PUBLISH_MS`, for the routers'
 * capacity gate (issue 10, section 5): the pool saturation and paused state the flow controller acts on (ADR 0003),
 * the tier's consumer lag asked of the broker, the service rate and time measured from completions
 * (ServiceRateTracker), and the pool's slots and in-flight records. A report lives a few intervals in Redis, so a dead
 * instance's signal expires; a clean shutdown withdraws it at once. A failed round is counted and logged, never fatal.
 */
@Injectable()
export class CapacityPublisher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private publishing = false;
  private lastSampleAt = Date.now();

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly registry: PoolRegistry,
    private readonly flow: FlowController,
    private readonly host: KafkaHandlerHost,
    private readonly rates: ServiceRateTracker,
    private readonly store: TierCapacityStore,
    private readonly metrics: WorkerMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.lastSampleAt = Date.now();
    this.timer = setInterval(() => void this.publish(), this.config.CAPACITY_PUBLISH_MS);
    this.timer.unref();
    void this.publish();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.store
      .withdraw(INSTANCE_ID, this.config.WORKER_TIERS)
      .catch((err: unknown) => this.logger.debug({ error: (err as Error).message }, 'capacity reports not withdrawn; they expire'));
  }

  /** One round: a report per served tier whose consumer runs, written in one Redis transaction. Overlapping rounds are skipped. */
  async publish(): Promise<void> {
    if (this.publishing) return;
    this.publishing = true;
    try {
      const now = Date.now();
      const elapsedMs = now - this.lastSampleAt;
      this.lastSampleAt = now;
      const reports: TierCapacityReport[] = [];
      for (const tier of this.config.WORKER_TIERS) {
        const report = await this.report(tier, now, elapsedMs);
        if (report) reports.push(report);
      }
      await this.store.publish(reports, Math.max(1_000, REPORT_TTL_INTERVALS * this.config.CAPACITY_PUBLISH_MS));
      this.metrics.capacityReports.inc({ outcome: 'published' }, reports.length);
    } catch (err) {
      this.metrics.capacityReports.inc({ outcome: 'failed' });
      this.logger.warn({ error: (err as Error).message }, 'capacity report not published');
    } finally {
      this.publishing = false;
    }
  }

  private async report(tier: Tier, now: number, elapsedMs: number): Promise<TierCapacityReport | undefined> {
    const consumer = this.host.consumer(tier);
    if (!consumer) return undefined;
    const lag = await this.host.consumerLag(tier, routedTopicForTier(tier)).catch((err: unknown) => {
      this.logger.debug({ tier, error: (err as Error).message }, 'consumer lag unknown');
      return null;
    });
    const { ratePerS, serviceMs } = this.rates.sample(tier, elapsedMs, consumer.inFlight > 0);
    const { saturation, paused } = this.flow.status(tier);
    return {
      tier,
      instance: INSTANCE_ID,
      saturation: Math.min(1, Math.max(0, saturation)),
      paused,
      lag: lag ?? null,
      service_rate_per_s: ratePerS,
      service_ms: serviceMs,
      slots: this.registry.pool(tier).maxInflight,
      inflight: consumer.inFlight,
      published_at: now,
    };
  }
}
