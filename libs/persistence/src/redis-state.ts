import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RetriableError } from '@llmgov/errors';
import type { ContextChunk, Tier } from '@llmgov/contracts';
import { RedisKeys } from './keys.js';
import { REDIS } from './tokens.js';

/** Runs one Redis call; a failure becomes RetriableError `redis_unavailable` (the runtime retries, or waits for Redis). */
async function redisCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new RetriableError(`redis: ${(err as Error).message}`, 'redis_unavailable', { cause: err });
  }
}

/** Job cancel flags (`RedisKeys.jobCancel`): set by the job API, read by every stage that holds a job. */
@Injectable()
export class JobFlagsRepository {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /** @throws RetriableError when Redis cannot be reached. */
  async isCancelled(jobId: string): Promise<boolean> {
    return (await redisCall(() => this.redis.exists(RedisKeys.jobCancel(jobId)))) > 0;
  }

  /** Flags the job as cancelled for `ttlSeconds`. @throws RetriableError when Redis cannot be reached. */
  async markCancelled(jobId: string, ttlSeconds: number): Promise<void> {
    await redisCall(() => this.redis.set(RedisKeys.jobCancel(jobId), '1', 'EX', ttlSeconds));
  }
}

/**
 * An exact-cache entry: written by the judge for a PASSed answer, read by the router to answer a repeated request
 * without inference. Stored as JSON under `RedisKeys.exactCache(tenant, cache_key)`.
 */
export interface ExactCacheEntry {
  /** Answer text released on PASS. */
  text: string;
  finish_reason: string;
  model: string;
  tier: Tier;
  /** Context chunks the answer was grounded in, as in the completion record. */
  context: ContextChunk[];
  /** The judge's score of the answer, 0..1 (groundedness); absent in entries written before it was recorded. */
  quality?: number;
}

/** The exact-answer cache, per tenant. */
@Injectable()
export class AnswerCacheRepository {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /** The entry, or undefined when absent or unreadable. @throws RetriableError when Redis cannot be reached. */
  async get(tenantId: string, cacheKey: string): Promise<ExactCacheEntry | undefined> {
    const raw = await redisCall(() => this.redis.get(RedisKeys.exactCache(tenantId, cacheKey)));
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as ExactCacheEntry;
    } catch {
      return undefined; // a corrupt entry is a miss, not a failure
    }
  }

  /** Writes (or refreshes) an entry: `SET key json EX ttlSeconds`; idempotent. @throws RetriableError when Redis cannot be reached. */
  async fill(tenantId: string, cacheKey: string, entry: ExactCacheEntry, ttlSeconds: number): Promise<void> {
    await redisCall(() => this.redis.set(RedisKeys.exactCache(tenantId, cacheKey), JSON.stringify(entry), 'EX', ttlSeconds));
  }
}

/** The month-to-date spend the cost-attributor keeps in Redis (`RedisKeys.budgetSpent`), as the router reads it. */
@Injectable()
export class BudgetSpendRepository {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /** Spend of `tenantId` in `month` (YYYY-MM, UTC) in micro-USD; 0 when unknown. @throws RetriableError when Redis cannot be reached. */
  async monthToDateMicroUsd(tenantId: string, month: string): Promise<number> {
    return Number((await redisCall(() => this.redis.get(RedisKeys.budgetSpent(tenantId, month)))) ?? 0);
  }
}

/**
 * Fire-once markers of idempotent effects (`SET key value EX ttl`, checked with EXISTS): a stage marks an input done
 * after its effects were acknowledged, and skips inputs already marked.
 */
@Injectable()
export class EffectMarkersRepository {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /** @throws RetriableError when Redis cannot be reached. */
  async isDone(key: string): Promise<boolean> {
    return (await redisCall(() => this.redis.exists(key))) > 0;
  }

  /** @throws RetriableError when Redis cannot be reached. */
  async markDone(key: string, value: string, ttlSeconds: number): Promise<void> {
    await redisCall(() => this.redis.set(key, value, 'EX', ttlSeconds));
  }
}
