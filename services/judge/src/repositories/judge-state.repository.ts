import { Inject, Injectable } from '@nestjs/common';
import { REDIS, RedisKeys, type Redis } from '@llmgov/persistence';
import { RetriableError } from '@llmgov/kafka-runtime';
import type { ContextChunk, Tier } from '@llmgov/contracts';

/**
 * The exact-cache entry the judge writes and the router reads to build a cache-hit completion, stored as JSON
 * under `RedisKeys.exactCache(tenant, cache_key)`.
 */
export interface ExactCacheEntry {
  /** Answer text released on PASS. */
  text: string;
  /** finish_reason of the cached completion. */
  finish_reason: string;
  model: string;
  tier: Tier;
  /** Context chunks the answer was grounded in, as in the completion record. */
  context: ContextChunk[];
}

/** Redis state the judge reads and writes: the job cancel flag and the exact-answer cache. */
@Injectable()
export class JudgeStateRepository {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /**
   * True when the submitter cancelled the job (`RedisKeys.jobCancel`).
   * @throws RetriableError when Redis cannot be reached.
   */
  async isCancelled(jobId: string): Promise<boolean> {
    try {
      return (await this.redis.exists(RedisKeys.jobCancel(jobId))) > 0;
    } catch (err) {
      throw new RetriableError(`redis: ${(err as Error).message}`, 'redis_unavailable', { cause: err });
    }
  }

  /**
   * Writes (or refreshes) an exact-cache entry: `SET key json EX ttlSeconds`. Overwriting is idempotent.
   * @throws RetriableError when Redis cannot be reached.
   */
  async fillExactCache(tenantId: string, cacheKey: string, entry: ExactCacheEntry, ttlSeconds: number): Promise<void> {
    try {
      await this.redis.set(RedisKeys.exactCache(tenantId, cacheKey), JSON.stringify(entry), 'EX', ttlSeconds);
    } catch (err) {
      throw new RetriableError(`redis: ${(err as Error).message}`, 'redis_unavailable', { cause: err });
    }
  }
}
