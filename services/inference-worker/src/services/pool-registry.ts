import { Inject, Injectable } from '@nestjs/common';
import type { Tier } from '@llmgov/contracts';
import { LOGGER, type Logger } from '@llmgov/observability';
import { WORKER_CONFIG, type WorkerConfig } from '../config.js';
import { TIERS, loadPoolsConfig, type PoolsConfig } from '../pools/pool-config.js';
import { templateId } from '../pools/prompt-template.js';
import { EndpointPool } from './endpoint-pool.js';
import { WorkerMetrics } from './worker-metrics.js';

/**
 * The three tier pools of this worker, built from the pool config file. `apply` swaps in a new config without a
 * restart; listeners (flow control) hear about it. Boot fails with a PoolsConfigError when the file is invalid.
 */
@Injectable()
export class PoolRegistry {
  private current: PoolsConfig;
  private readonly pools: Record<Tier, EndpointPool>;
  private readonly listeners: ((cfg: PoolsConfig) => void)[] = [];

  constructor(
    @Inject(WORKER_CONFIG) config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: WorkerMetrics,
  ) {
    this.current = loadPoolsConfig(config.POOLS_FILE);
    const c = this.current;
    this.pools = {
      S: new EndpointPool('S', c.pools.S, c.saturation, c.circuit_breaker),
      M: new EndpointPool('M', c.pools.M, c.saturation, c.circuit_breaker),
      L: new EndpointPool('L', c.pools.L, c.saturation, c.circuit_breaker),
    };
    metrics.configVersion.set(c.version);
    this.publishTemplates();
    logger.info({ version: c.version, file: config.POOLS_FILE, templates: this.templates() }, 'pool config loaded');
  }

  /** Each tier's prompt template as `name@version`, its api and file (for logs). */
  templates(): Record<Tier, { template: string; api: string; file: string }> {
    const of = (t: Tier) => ({
      template: templateId(this.current.pools[t].template),
      api: this.current.pools[t].api,
      file: this.current.pools[t].template.file,
    });
    return { S: of('S'), M: of('M'), L: of('L') };
  }

  /** `inference_prompt_template_info{tier, template, api}` = 1 for the templates in use (older ones removed). */
  private publishTemplates(): void {
    this.metrics.promptTemplate.reset();
    for (const tier of TIERS) {
      const pool = this.current.pools[tier];
      this.metrics.promptTemplate.set({ tier, template: templateId(pool.template), api: pool.api }, 1);
    }
  }

  get config(): PoolsConfig {
    return this.current;
  }

  pool(tier: Tier): EndpointPool {
    return this.pools[tier];
  }

  onChange(listener: (cfg: PoolsConfig) => void): void {
    this.listeners.push(listener);
  }

  /** Applies a validated config to every pool. */
  apply(next: PoolsConfig): void {
    const previous = this.current.version;
    this.current = next;
    for (const tier of TIERS) this.pools[tier].configure(next.pools[tier], next.saturation, next.circuit_breaker);
    this.metrics.configVersion.set(next.version);
    this.publishTemplates();
    this.logger.info(
      {
        previous_version: previous,
        version: next.version,
        endpoints: Object.fromEntries(TIERS.map((t) => [t, this.pools[t].urls])),
        templates: this.templates(),
      },
      'pool config applied',
    );
    for (const l of this.listeners) l(next);
  }
}
