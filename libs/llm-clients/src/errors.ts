/**
 * Where a failure came from:
 * - `engine`: the inference server failed (5xx, 503 at capacity, a broken or malformed stream);
 * - `client`: the request was refused as invalid (4xx other than 408/429), or the caller cancelled it;
 * - `rate_limit`: 429;
 * - `timeout`: the deadline / timeout passed (or the server answered 408);
 * - `network`: connection refused, reset or closed mid-stream.
 */
export type LlmErrorSource = 'engine' | 'client' | 'rate_limit' | 'timeout' | 'network';

export interface LlmEndpointErrorInit {
  source: LlmErrorSource;
  retriable: boolean;
  endpoint: string;
  status?: number;
  /** Server-provided error code (OpenAI `error.code`), if any. */
  code?: string;
  /** From a `Retry-After` header, milliseconds. */
  retryAfterMs?: number;
  /** True when the caller's own AbortSignal cancelled the request. */
  cancelled?: boolean;
  cause?: unknown;
}

/** Failure of a call to an LLM endpoint, classified for retry and circuit-breaker decisions. */
export class LlmEndpointError extends Error {
  /** HTTP status, when the server answered. */
  readonly status?: number;
  /** Whether the same request may succeed if retried (possibly on another endpoint). */
  readonly retriable: boolean;
  readonly source: LlmErrorSource;
  /** Base URL of the endpoint that failed. */
  readonly endpoint: string;
  readonly code?: string;
  /** Server hint before retrying, milliseconds. */
  readonly retryAfterMs?: number;
  readonly cancelled: boolean;

  constructor(message: string, init: LlmEndpointErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'LlmEndpointError';
    this.source = init.source;
    this.retriable = init.retriable;
    this.endpoint = init.endpoint;
    this.cancelled = init.cancelled ?? false;
    if (init.status !== undefined) this.status = init.status;
    if (init.code !== undefined) this.code = init.code;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }
}

/** Classifies an HTTP error status: 429 → rate_limit, 408 → timeout, other 4xx → client (not retriable), 5xx → engine. */
export function classifyStatus(status: number): { source: LlmErrorSource; retriable: boolean } {
  if (status === 429) return { source: 'rate_limit', retriable: true };
  if (status === 408) return { source: 'timeout', retriable: true };
  if (status >= 400 && status < 500) return { source: 'client', retriable: false };
  return { source: 'engine', retriable: true };
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
