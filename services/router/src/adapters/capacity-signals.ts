import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { LOGGER, PlatformMetrics, type Logger } from '@llmgov/observability';
import { TierCapacityStore } from '@llmgov/persistence';
import {
  TIERS,
  capacitySignals,
  estimateTierCapacity,
  type PolicyTier,
  type TierCapacityEstimate,
  type TierCapacityReport,
  type TierCapacitySignal,
} from '@llmgov/policy';
import { ROUTER_CONFIG, type RouterConfig } from '../config.js';

/**
 * The capacity gate's input (issue 10, section 5): the inference workers' per-tier reports (saturation, paused, consumer
 * lag, service rate and time; TierCapacityStore in Redis), read every `CAPACITY_REFRESH_MS` into memory so a request
 * costs no Redis round trip, and turned per request into decide()'s `signals.capacity` with `estimateTierCapacity`
 * (formula there: wait = records ahead / service rate). Reports older than `CAPACITY_STALE_MS` are ignored, so a
 * refresh that keeps failing (Redis down) ages the signal out rather than freezing it; a tier without a fresh report
 * has no entry (decide() assumes room). Exports `router_tier_queue_wait_estimate_ms{tier}` (absent without a signal).
 */
@Injectable()
export class CapacitySignalSource implements OnApplicationBootstrap, OnApplicationShutdown {
  private reports: TierCapacityReport[] = [];
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private readonly waitEstimate: Gauge<'tier'>;
  private readonly saturation: Gauge<'tier'>;

  constructor(
    @Inject(ROUTER_CONFIG) private readonly config: RouterConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly store: TierCapacityStore,
    metrics: PlatformMetrics,
  ) {
    this.waitEstimate = new Gauge({
      name: 'router_tier_queue_wait_estimate_ms',
      help: 'Estimated queue wait of a request routed to the tier now, ms (records ahead / service rate; +Inf when paused with no rate); absent without a fresh worker signal',
      labelNames: ['tier'],
      registers: [metrics.registry],
    });
    this.saturation = new Gauge({
      name: 'router_tier_saturation',
      help: 'Largest pool saturation (0..1) the tier’s inference workers report; absent without a fresh worker signal',
      labelNames: ['tier'],
      registers: [metrics.registry],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.CAPACITY_GATE) return;
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.config.CAPACITY_REFRESH_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Re-reads every tier's reports; a failure keeps the previous ones (they age out by `CAPACITY_STALE_MS`). */
  async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      this.reports = await this.store.readAll();
    } catch (err) {
      this.logger.debug({ error: (err as Error).message }, 'capacity signals not refreshed; the last ones age out');
    } finally {
      this.refreshing = false;
    }
    this.export(Date.now());
  }

  /** Each tier's estimate now (undefined entries: no fresh signal). */
  estimates(now: number = Date.now()): Record<PolicyTier, TierCapacityEstimate | undefined> {
    const stale = this.config.CAPACITY_STALE_MS;
    return {
      S: estimateTierCapacity('S', this.reports, now, stale),
      M: estimateTierCapacity('M', this.reports, now, stale),
      L: estimateTierCapacity('L', this.reports, now, stale),
    };
  }

  /** decide()'s `signals.capacity`: `{ queueWaitMs, serviceMs }` per tier with a fresh signal; `{}` when the gate is off. */
  signals(now: number = Date.now()): Partial<Record<PolicyTier, TierCapacitySignal>> {
    return this.config.CAPACITY_GATE ? capacitySignals(this.reports, now, this.config.CAPACITY_STALE_MS) : {};
  }

  private export(now: number): void {
    const all = this.estimates(now);
    for (const tier of TIERS) {
      const e = all[tier];
      if (e) {
        this.waitEstimate.set({ tier }, e.queueWaitMs);
        this.saturation.set({ tier }, e.saturation);
      } else {
        this.waitEstimate.remove({ tier });
        this.saturation.remove({ tier });
      }
    }
  }
}
