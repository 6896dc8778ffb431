import { Global, Inject, Injectable, Module, Optional, type DynamicModule, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type pg from 'pg';
import type { Redis } from 'ioredis';
import { PLATFORM_CONFIG, type PlatformConfig } from '@llmgov/config';
import { ReadinessRegistry } from '@llmgov/observability';
import { createPgPool } from './postgres.js';
import { createRedis } from './redis.js';

import { BUDGET_LIMITS, PG_POOL, REDRIVE_CHECKPOINTS, REDIS } from './tokens.js';
import { RedisBudgetLimits, type BudgetLimitSource } from './budgets/budget-limits.js';
import { BudgetReservations } from './budgets/budget-reservations.js';
import { EffectiveBudgetLimits, PolicyBudgetLimits } from './budgets/policy-budget-limits.js';
import { AnswerCacheRepository, BudgetSpendRepository, EffectMarkersRepository, JobFlagsRepository } from './redis-state.js';
import { RedriveRepository } from './redrive-repository.js';
import { RedisSemanticCache, SEMANTIC_CACHE, SemanticCacheRecords, type SemanticCacheLayer } from './semantic-cache/semantic-cache.js';

/** Which stores a service needs. Each one named is a dependency: readiness fails and consumers pause while it is down. */
export interface PersistenceOptions {
  postgres: boolean;
  redis: boolean;
}

@Injectable()
class PersistenceLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly readiness: ReadinessRegistry,
    @Optional() @Inject(PG_POOL) private readonly pool?: pg.Pool,
    @Optional() @Inject(REDIS) private readonly redis?: Redis,
  ) {}

  onModuleInit(): void {
    const pool = this.pool;
    const redis = this.redis;
    if (pool) this.readiness.register({ name: 'postgres', dependency: true, check: async () => void (await pool.query('SELECT 1')) });
    if (redis) this.readiness.register({ name: 'redis', dependency: true, check: async () => void (await redis.ping()) });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
    this.redis?.disconnect();
  }
}

/**
 * Provides PG_POOL (pg.Pool) and/or REDIS (ioredis) from the platform config, with the shared Redis state
 * repositories (job flags, answer cache, budget spend, effect markers) and the budget reservations (BudgetReservations,
 * BUDGET_LIMITS = EffectiveBudgetLimits, and PolicyBudgetLimits for the service to apply its policy versions to) when
 * Redis is used, each registered as a readiness
 * dependency (see ReadinessRegistry.failingDependencies): a service lists only the stores it uses, so an outage of
 * another store neither fails its readiness nor pauses its consumers.
 */
@Global()
@Module({})
export class PersistenceModule {
  static forRoot(options: PersistenceOptions): DynamicModule {
    const providers = [];
    if (options.postgres) providers.push({ provide: PG_POOL, inject: [PLATFORM_CONFIG], useFactory: (c: PlatformConfig) => createPgPool(c.DATABASE_URL) });
    // The redrive checkpoint (migration 010): with it, the Kafka runtime redrives the service's dependency dead letters.
    if (options.postgres) providers.push({ provide: REDRIVE_CHECKPOINTS, inject: [PG_POOL], useFactory: (pool: pg.Pool) => new RedriveRepository(pool) });
    if (options.redis) providers.push({ provide: REDIS, inject: [PLATFORM_CONFIG], useFactory: (c: PlatformConfig) => createRedis(c.REDIS_URL) });
    const repositories = options.redis ? [JobFlagsRepository, AnswerCacheRepository, BudgetSpendRepository, EffectMarkersRepository] : [];
    // Budget reservations (ADR 0007): the limits in force are the budgets of the active policy version, which the
    // service that follows its namespace applies to PolicyBudgetLimits, with the operators' Redis overrides winning.
    const budgets = options.redis
      ? [
          { provide: PolicyBudgetLimits, useFactory: () => new PolicyBudgetLimits() },
          {
            provide: BUDGET_LIMITS,
            inject: [REDIS, PolicyBudgetLimits],
            useFactory: (r: Redis, policy: PolicyBudgetLimits) => new EffectiveBudgetLimits(new RedisBudgetLimits(r), policy),
          },
          {
            provide: BudgetReservations,
            inject: [REDIS, BUDGET_LIMITS],
            useFactory: (r: Redis, limits: BudgetLimitSource) => new BudgetReservations(r, { limits }),
          },
        ]
      : [];
    // The semantic cache layer (ADR 0008): the Redis-scan store and its records.
    const semantic = options.redis
      ? [
          {
            provide: SEMANTIC_CACHE,
            inject: [REDIS],
            useFactory: (r: Redis): SemanticCacheLayer => ({ store: new RedisSemanticCache(r), records: new SemanticCacheRecords(r) }),
          },
        ]
      : [];
    const exported = [...providers.map((p) => p.provide), ...repositories, ...budgets.map((b) => b.provide), ...semantic.map((s) => s.provide)];
    return {
      module: PersistenceModule,
      global: true,
      providers: [...providers, ...repositories, ...budgets, ...semantic, PersistenceLifecycle],
      exports: exported,
    };
  }
}
