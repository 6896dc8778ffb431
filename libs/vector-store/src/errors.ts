export type VectorStoreErrorCode =
  | 'invalid_argument' // bad input: never retry
  | 'not_found' // collection or alias does not exist
  | 'conflict' // e.g. dimensions differ from the existing collection, alias name taken by a collection
  | 'unavailable' // backend unreachable, timed out, overloaded: retry with backoff
  | 'backend'; // any other backend failure

/** The error type every VectorStore implementation throws. */
export class VectorStoreError extends Error {
  readonly code: VectorStoreErrorCode;
  readonly retriable: boolean;

  constructor(message: string, code: VectorStoreErrorCode, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VectorStoreError';
    this.code = code;
    this.retriable = options.retriable ?? code === 'unavailable';
  }
}
