import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PLATFORM_CONFIG, type PlatformConfig } from '@llmgov/config';
import { LOGGER, type Logger } from '@llmgov/observability';
import { PG_POOL, PolicyBudgetLimits, PolicyWatcher, type ActivePolicy, type Pool } from '@llmgov/persistence';
import { COST_CONFIG, type CostConfig } from '../config.js';

/**
 * Follows the active policy version of `POLICY_NAMESPACE` (as the router does: LISTEN/NOTIFY plus a 2 s poll, so a
 * missed notification heals) and applies its budgets to PolicyBudgetLimits, so that the alerts raised after each
 * settlement use the policy's limits and `alert_at` (ADR 0007). Off with `POLICY_ENABLED=false`. A watcher that cannot
 * start is retried by its poll; until then the last limits applied (none at first) stay, and overrides still apply.
 */
@Injectable()
export class PolicyBudgetsFollower implements OnModuleInit, OnApplicationShutdown {
  private watcher: PolicyWatcher | undefined;

  constructor(
    @Inject(COST_CONFIG) private readonly config: CostConfig,
    @Inject(PLATFORM_CONFIG) private readonly platform: PlatformConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly limits: PolicyBudgetLimits,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.POLICY_ENABLED === false) return;
    const namespace = this.config.POLICY_NAMESPACE ?? 'default';
    this.watcher = new PolicyWatcher({
      connectionString: this.platform.DATABASE_URL,
      namespace,
      pool: this.pool,
      onError: (err) => this.logger.warn({ error: err.message }, 'policy watcher: the last budgets applied stay in force'),
    });
    this.watcher.on('change', (p) => this.apply(namespace, p));
    const first = await this.watcher.start().catch((err: unknown) => {
      this.logger.warn({ error: (err as Error).message }, 'policy watcher could not start; alerting on overrides only until it can');
      return undefined;
    });
    if (first) this.apply(namespace, first);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.watcher?.stop();
  }

  private apply(namespace: string, active: ActivePolicy): void {
    // The watcher may hand over the same version twice (its first load and a notification racing it): log a change once.
    if (this.limits.apply({ namespace, version: active.version, document: active.document }))
      this.logger.info({ namespace, version: active.version, budgets: active.document.budgets.length }, 'policy budgets in force');
  }
}
