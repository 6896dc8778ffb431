import type { Redis } from 'ioredis';
import { RetriableError } from '@llmgov/errors';
import { TIERS, tierCapacityReportSchema, type PolicyTier, type TierCapacityReport } from '@llmgov/policy';
import { RedisKeys } from './keys.js';

/** Index entries not refreshed for this long are removed by the next publisher, ms (their keys expired long before). */
const INDEX_PRUNE_AFTER_MS = 60_000;

/**
 * The capacity gate's signals in Redis (issue 10, section 5). Each inference-worker instance writes one JSON report per
 * tier it serves under `RedisKeys.tierCapacity(namespace, tier, instance)` with a short TTL (so a dead instance's
 * signal disappears by itself), and adds the instance to the tier's index `RedisKeys.tierCapacityIndex` (a sorted set,
 * score = report time). Readers list the index and fetch the reports; an expired report reads as absent, so liveness
 * does not depend on the reader's and writer's clocks agreeing. Reports that fail validation are skipped.
 *
 * Errors: every method rejects with RetriableError `redis_unavailable` when Redis cannot be reached.
 */
export class TierCapacityStore {
  constructor(
    private readonly redis: Redis,
    /** The Kafka topic prefix of the workers and routers that share these signals ('' for the live platform). */
    readonly namespace: string = '',
  ) {}

  /**
   * Writes an instance's reports (one per tier) in one transaction: `SET report PX ttlMs`, `ZADD index`, pruning index
   * entries older than a minute.
   * @param ttlMs how long a report stays readable without a refresh, ms (a few publish intervals).
   */
  async publish(reports: readonly TierCapacityReport[], ttlMs: number): Promise<void> {
    if (reports.length === 0) return;
    const tx = this.redis.multi();
    for (const r of reports) {
      const index = RedisKeys.tierCapacityIndex(this.namespace, r.tier);
      tx.set(RedisKeys.tierCapacity(this.namespace, r.tier, r.instance), JSON.stringify(r), 'PX', Math.max(1, Math.round(ttlMs)));
      tx.zadd(index, r.published_at, r.instance);
      tx.zremrangebyscore(index, '-inf', r.published_at - INDEX_PRUNE_AFTER_MS);
      tx.pexpire(index, INDEX_PRUNE_AFTER_MS);
    }
    await call(() => tx.exec());
  }

  /** Removes an instance's reports at once (a worker that stops cleanly), rather than waiting for their TTL. */
  async withdraw(instance: string, tiers: readonly PolicyTier[]): Promise<void> {
    if (tiers.length === 0) return;
    const tx = this.redis.multi();
    for (const tier of tiers) {
      tx.del(RedisKeys.tierCapacity(this.namespace, tier, instance));
      tx.zrem(RedisKeys.tierCapacityIndex(this.namespace, tier), instance);
    }
    await call(() => tx.exec());
  }

  /** Every live report of every tier (two round trips: the indexes, then the reports). */
  async readAll(): Promise<TierCapacityReport[]> {
    const listed = await call(() => {
      const p = this.redis.pipeline();
      for (const tier of TIERS) p.zrange(RedisKeys.tierCapacityIndex(this.namespace, tier), '0', '-1');
      return p.exec();
    });
    const keys: string[] = [];
    TIERS.forEach((tier, i) => {
      const members = listed?.[i]?.[1];
      if (Array.isArray(members)) for (const m of members) keys.push(RedisKeys.tierCapacity(this.namespace, tier, String(m)));
    });
    if (keys.length === 0) return [];
    const raw = await call(() => this.redis.mget(...keys));
    const out: TierCapacityReport[] = [];
    for (const value of raw) {
      if (value === null) continue; // expired: the instance stopped reporting
      try {
        const parsed = tierCapacityReportSchema.safeParse(JSON.parse(value));
        if (parsed.success) out.push(parsed.data);
      } catch {
        // not JSON: skipped like any invalid report
      }
    }
    return out;
  }
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new RetriableError(`redis: ${(err as Error).message}`, 'redis_unavailable', { cause: err });
  }
}
