import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RetriableError } from '@llmgov/errors';
import { isRedisConnectionError } from '../redis.js';

/**
 * Runs one Redis call: a lost connection becomes RetriableError `redis_unavailable` (the Kafka runtime retries it or
 * waits for Redis); an error reply (a script bug, WRONGTYPE) is rethrown as it is, since retrying cannot fix it.
 */
export async function redisCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isRedisConnectionError(err) || (err as { retriable?: unknown } | null)?.retriable === true)
      throw new RetriableError(`redis: ${(err as Error).message}`, 'redis_unavailable', { cause: err });
    throw err;
  }
}

/**
 * A Lua script run by EVALSHA, loaded with EVAL the first time a server answers NOSCRIPT (after a restart or
 * failover). Our own ten lines rather than ioredis `defineCommand`, which adds untyped methods to the shared client.
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script with one key. @throws RetriableError when Redis cannot be reached; the error reply otherwise. */
  run(redis: Redis, key: string, args: readonly (string | number)[]): Promise<unknown> {
    return redisCall(async () => {
      try {
        return await redis.evalsha(this.sha, 1, key, ...args);
      } catch (err) {
        if (!/NOSCRIPT/.test((err as Error).message)) throw err;
        return redis.eval(this.source, 1, key, ...args);
      }
    });
  }
}
