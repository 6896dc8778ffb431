import type { JobState } from '@llmgov/contracts';

/** Terminal states: no transition leaves them. */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set<JobState>(['completed', 'failed', 'expired', 'cancelled']);

const ALLOWED: Record<JobState, readonly JobState[]> = {
  validating: ['in_progress', 'finalizing', 'completed', 'failed', 'expired', 'cancelling', 'cancelled'],
  in_progress: ['finalizing', 'completed', 'failed', 'expired', 'cancelling', 'cancelled'],
  finalizing: ['completed', 'failed', 'expired'],
  cancelling: ['cancelled', 'completed', 'failed', 'expired'],
  completed: [],
  failed: [],
  expired: [],
  cancelled: [],
};

/**
 * Whether a job may move from `from` to `to` (the OpenAI Batch lifecycle: validating -> in_progress ->
 * finalizing -> completed, with failed/expired/cancelling/cancelled on the side). Terminal states are final,
 * and a state never moves backwards, so redelivered or reordered status events cannot undo progress.
 */
export function canTransition(from: JobState, to: JobState): boolean {
  return ALLOWED[from].includes(to);
}
