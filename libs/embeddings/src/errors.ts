export type EmbeddingsErrorCode =
  | 'http' // the server answered with a non-2xx status
  | 'timeout' // no complete answer within the client's timeout
  | 'network' // connection refused/reset, DNS failure, …
  | 'aborted' // the caller's AbortSignal fired
  | 'malformed_response' // the body is not JSON, or JSON of the wrong shape
  | 'invalid_input'; // rejected before any request was sent

export interface EmbeddingsErrorOptions {
  code: EmbeddingsErrorCode;
  retriable: boolean;
  status?: number;
  /** From a `Retry-After` header, when the server sent one. */
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * The one error type the embeddings clients throw. `retriable` tells the caller whether backing
 * off and trying again can help (5xx, 429, timeouts, network faults, truncated bodies) or whether
 * the input or configuration is at fault (other 4xx, a schema mismatch, invalid input).
 */
export class EmbeddingsError extends Error {
  readonly code: EmbeddingsErrorCode;
  readonly retriable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: EmbeddingsErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EmbeddingsError';
    this.code = options.code;
    this.retriable = options.retriable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}
