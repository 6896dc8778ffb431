import { eventually } from './eventually.js';

/** The states a job of the jobs API (`GET /v1/jobs/:id`) ends in. */
export const FINAL_JOB_STATES: readonly string[] = ['completed', 'failed', 'expired', 'cancelled'];

/**
 * Polls `getJob` (e.g. `GET /v1/jobs/:id`, parsed) with {@link eventually} until the job's `status` is one of
 * {@link FINAL_JOB_STATES}, and resolves with that view. Throws after `opts.timeoutMs` naming job `id`.
 */
export function jobInFinalState<J extends { status: string }>(
  id: string,
  getJob: () => Promise<J>,
  opts: { timeoutMs: number; intervalMs: number },
): Promise<J> {
  return eventually(
    `job ${id} to reach a final state`,
    async () => {
      const job = await getJob();
      return FINAL_JOB_STATES.includes(job.status) ? job : undefined;
    },
    opts,
  );
}
