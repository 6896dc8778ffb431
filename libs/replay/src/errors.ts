/** Codes of {@link ReplayInputError}. */
export type ReplayInputErrorCode =
  | 'invalid_time'
  | 'invalid_offsets'
  | 'invalid_range'
  | 'unknown_topic'
  | 'unknown_partition'
  | 'invalid_rate'
  | 'invalid_target'
  | 'invalid_filter'
  | 'unknown_replay'
  | 'replay_finished'
  | 'replay_conflict';

/** A replay asked for something it cannot do (bad bounds, unknown topic, ...): the CLI prints the message and exits 1. */
export class ReplayInputError extends Error {
  override readonly name = 'ReplayInputError';
  constructor(
    message: string,
    readonly code: ReplayInputErrorCode,
  ) {
    super(message);
  }
}
