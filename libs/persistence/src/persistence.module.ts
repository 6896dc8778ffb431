import { Global, Inject, Injectable, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type pg from 'pg';
import type { Redis } from 'ioredis';
import { PLATFORM_CONFIG } from '@llmgov/kafka-runtime';
import type { PlatformConfig } from '@llmgov/config';
import { ReadinessRegistry } from '@llmgov/observability';
import { createPgPool } from './postgres.js';
import { createRedis } from './redis.js';

export const PG_POOL = Symbol('PG_POOL');
export const REDIS = Symbol('REDIS');

@Injectable()
class PersistenceLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly readiness: ReadinessRegistry,
  ) {}

  onModuleInit(): void {
    this.readiness.register({ name: 'postgres', check: async () => void (await this.pool.query('SELECT 1')) });
    this.readiness.register({ name: 'redis', check: async () => void (await this.redis.ping()) });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end().catch(() => undefined);
    this.redis.disconnect();
  }
}

/** Provides PG_POOL (pg.Pool) and REDIS (ioredis) from the platform config, with readiness checks. */
@Global()
@Module({
  providers: [
    { provide: PG_POOL, inject: [PLATFORM_CONFIG], useFactory: (c: PlatformConfig) => createPgPool(c.DATABASE_URL) },
    { provide: REDIS, inject: [PLATFORM_CONFIG], useFactory: (c: PlatformConfig) => createRedis(c.REDIS_URL) },
    PersistenceLifecycle,
  ],
  exports: [PG_POOL, REDIS],
})
export class PersistenceModule {}
