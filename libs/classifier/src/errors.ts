/**
 * Why the classifier refused its input. `settings_*` and `example_embedding_*` come from building a classifier (a bad
 * policy or a broken embedding function); the others from one request, and map to a 4xx with the message as reason.
 */
export type ClassifierErrorCode =
  | 'settings_invalid'
  | 'example_embedding_invalid'
  | 'text_invalid'
  | 'text_empty'
  | 'text_too_long'
  | 'embedding_dimension_mismatch'
  | 'embedding_not_finite'
  | 'embedding_zero'
  | 'signal_invalid';

/** The only error the classifier throws; `message` names the offending field and value. */
export class ClassifierError extends Error {
  constructor(
    readonly code: ClassifierErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ClassifierError';
  }
}
