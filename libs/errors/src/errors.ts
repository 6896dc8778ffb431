/** Codes of retriable failures: a dependency that may come back. */
export type RetriableCode =
  | 'retriable'
  | 'postgres_unavailable'
  | 'redis_unavailable'
  | 'registry_unavailable'
  | 'embeddings_unavailable'
  | 'vector_store_unavailable'
  | 'retrieval_unavailable';

/** Codes of failures that retrying cannot fix: the record, or the work it asks for, is at fault. */
export type NonRetriableCode =
  | 'non_retriable'
  | 'undecodable'
  | 'unknown_schema'
  | 'validation_failed'
  | 'invalid_usage'
  | 'tenant_mismatch'
  | 'deadline_exceeded'
  | 'inference_error'
  /** A cost or latency budget refused the work (a reservation refused, a budget exhausted). */
  | 'budget_exceeded'
  /** A guardrail blocked the input or the output. */
  | 'guardrail_blocked'
  /** An engine call failed for good; the suffix is the LLM client's error source (engine, network, timeout, rate_limit, client...). */
  | `engine_${string}`;

/**
 * Every error code of the platform: the DLQ header `dlq.error.code`, the `error.code` of a failed job, the
 * `error_code` of logs. `unexpected` is a non-platform error (a bug).
 */
export type ErrorCode = RetriableCode | NonRetriableCode | 'unexpected';

/**
 * Error taxonomy of the platform. Every error a handler throws is classified by `retriable`:
 * - retriable (timeouts, 5xx, connection errors, a dependency briefly down): retried with jittered
 *   exponential backoff in-process, then dead-lettered with the attempt count;
 * - non-retriable (undecodable bytes, unknown schema id, semantic validation, business rules):
 *   dead-lettered at once.
 * Errors that are not PlatformErrors are treated as non-retriable unless they carry `retriable: true`
 * (kafkajs' own errors do).
 */
export abstract class PlatformError extends Error {
  abstract readonly retriable: boolean;
  /** A stable machine-readable code, written to the DLQ header `dlq.error.code`. */
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A dependency failed in a way that may pass: retry. */
export class RetriableError extends PlatformError {
  readonly retriable = true;
  constructor(
    message: string,
    readonly code: RetriableCode = 'retriable',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The record can never be handled as it is: dead-letter at once. */
export class NonRetriableError extends PlatformError {
  readonly retriable = false;
  constructor(
    message: string,
    readonly code: NonRetriableCode = 'non_retriable',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bytes that are not a Confluent-framed Avro record (wrong magic byte, truncated, corrupt payload, empty value). */
export class UndecodableRecordError extends NonRetriableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'undecodable', options);
  }
}

/** The record names a schema id the registry does not know. */
export class UnknownSchemaError extends NonRetriableError {
  constructor(
    readonly schemaId: number,
    options?: { cause?: unknown },
  ) {
    super(`schema id ${schemaId} is not registered in the schema registry`, 'unknown_schema', options);
  }
}

/** Semantic validation failed; `reasons` lists every problem found. */
export class ValidationError extends NonRetriableError {
  constructor(
    readonly reasons: string[],
    code: NonRetriableCode = 'validation_failed',
  ) {
    super(`validation failed: ${reasons.join('; ')}`, code);
  }
}

/** True when `err` should be retried. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof PlatformError) return err.retriable;
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}

/** A short code for metrics and DLQ headers. */
export function errorCode(err: unknown): ErrorCode {
  if (err instanceof PlatformError) return err.code;
  return isRetriable(err) ? 'retriable' : 'unexpected';
}

/** The class name of an error, for DLQ headers and logs. */
export function errorClass(err: unknown): string {
  return err instanceof Error ? err.name || err.constructor.name : typeof err;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
