import { Redis } from 'ioredis';

export { Redis } from 'ioredis';

/**
 * True for ioredis errors that mean "no usable connection" (refused, reset, closed, retries per request exhausted)
 * rather than an error reply from Redis: such a command may succeed once Redis is back.
 */
export function isRedisConnectionError(err: unknown): boolean {
  if (!(err instanceof Error) || err.name === 'ReplyError') return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/.test(code)) return true;
  return (
    err.name === 'MaxRetriesPerRequestError' || /Connection is closed|Stream isn't writeable|connect ECONNREFUSED|Reached the max retries/i.test(err.message)
  );
}

/**
 * ioredis with classified failures: a command that fails for lack of a connection rejects with an error marked
 * `retriable: true` (the platform's error taxonomy, see @llmgov/errors isRetriable), so a Redis blip is
 * retried and waited out instead of dead-lettering records. Error replies (WRONGTYPE...) stay non-retriable.
 */
class ClassifiedRedis extends Redis {
  override sendCommand(...args: Parameters<Redis['sendCommand']>): ReturnType<Redis['sendCommand']> {
    const result = super.sendCommand(...args);
    // Attached before the caller's handlers, so the flag is set by the time they see the error.
    void Promise.resolve(result).catch((err: unknown) => {
      if (isRedisConnectionError(err)) (err as { retriable?: boolean }).retriable = true;
    });
    return result;
  }
}

/**
 * An ioredis client that fails fast while Redis is down (a command rejects after one reconnect attempt instead of
 * queueing forever), reconnects with backoff (50 ms x attempts, capped at 2 s), and marks connection failures
 * retriable (see ClassifiedRedis).
 */
export function createRedis(url: string): Redis {
  return new ClassifiedRedis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 3000,
    retryStrategy: (times) => Math.min(times * 50, 2000),
    lazyConnect: false,
  });
}
