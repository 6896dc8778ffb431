import { pino, type Logger } from 'pino';
import { currentTraceContext } from './trace-context.js';

export type { Logger } from 'pino';

/**
 * Structured JSON logger (pino). Messages are constant strings; variable data goes in fields
 * (`topic`, `partition`, `offset`, `job_id`, ...). Every line carries `service` and, inside a traced
 * scope, `traceparent` and `correlation_id`.
 */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    mixin() {
      const ctx = currentTraceContext();
      return ctx ? { traceparent: ctx.traceparent, correlation_id: ctx.correlationId } : {};
    },
  });
}
