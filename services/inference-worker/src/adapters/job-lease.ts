import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { REDIS, type Redis } from '@llmgov/persistence';

/** Identifies this process as a lease owner. */
export const INSTANCE_ID = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * A Redis lease saying "this instance is running this job attempt": `SET key owner NX PX ttl`, renewed every ttl/3
 * while held, released only by its owner (compare-and-delete in Lua). After a rebalance the new owner of a partition
 * redelivers records whose calls still run elsewhere; the lease lets it wait for that result instead of running the
 * call twice. A crashed holder's lease expires after `ttlMs`.
 *
 * Our own rather than redlock: one Redis (no quorum needed), and redlock's current major is still a beta.
 */
export class JobLease {
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly redis: Redis,
    private readonly key: string,
    ttlMs: number,
  ) {
    this.timer = setInterval(
      () => void this.redis.eval(RENEW, 1, this.key, INSTANCE_ID, String(ttlMs)).catch(() => undefined),
      Math.max(1, Math.floor(ttlMs / 3)),
    );
    this.timer.unref();
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.eval(RELEASE, 1, this.key, INSTANCE_ID);
  }

  /** Takes the lease if nobody holds it (used by JobLeases). @returns the lease, or undefined when another owner holds it. */
  static async acquire(redis: Redis, key: string, ttlMs: number): Promise<JobLease | undefined> {
    const ok = await redis.set(key, INSTANCE_ID, 'PX', ttlMs, 'NX');
    return ok === 'OK' ? new JobLease(redis, key, ttlMs) : undefined;
  }
}

/** The injectable side of JobLease: takes leases on the platform's Redis. */
@Injectable()
export class JobLeases {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /** @returns the lease, or undefined when another owner holds it. */
  acquire(key: string, ttlMs: number): Promise<JobLease | undefined> {
    return JobLease.acquire(this.redis, key, ttlMs);
  }
}
