import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/** Context carried through a request or a consumed record: W3C `traceparent` and our correlation id (job or document id). */
export interface TraceContext {
  traceparent: string;
  correlationId?: string;
}

/** Kafka / HTTP header names for trace context (W3C Trace Context, https://www.w3.org/TR/trace-context/). */
export const TRACEPARENT_HEADER = 'traceparent';
export const CORRELATION_ID_HEADER = 'x-correlation-id';

const storage = new AsyncLocalStorage<TraceContext>();

const TRACEPARENT_RE = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Returns a new W3C traceparent (version 00, sampled) with random trace and span ids. */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** Keeps the trace id of `parent` (when valid) with a fresh span id; otherwise starts a new trace. */
export function childTraceparent(parent: string | undefined): string {
  if (!parent || !TRACEPARENT_RE.test(parent)) return newTraceparent();
  return `00-${parent.slice(3, 35)}-${randomBytes(8).toString('hex')}-${parent.slice(-2)}`;
}

/** Runs `fn` with `ctx` as the current trace context. */
export function runWithTraceContext<T>(ctx: TraceContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** The current trace context, if any. */
export function currentTraceContext(): TraceContext | undefined {
  return storage.getStore();
}
