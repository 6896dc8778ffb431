import { Redis } from 'ioredis';

export { Redis } from 'ioredis';

/**
 * An ioredis client that fails fast while Redis is down (commands reject instead of queueing forever)
 * and reconnects with backoff (50 ms x attempts, capped at 2 s).
 */
export function createRedis(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 3000,
    retryStrategy: (times) => Math.min(times * 50, 2000),
    lazyConnect: false,
  });
}
