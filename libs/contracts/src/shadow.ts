/**
 * Shadow copies (issue 11 §4, ADR 0009): a job decided again by the namespace's shadow policy version runs under a
 * derived job id, so that effect markers, leases, budget reservations, job status and caches keyed by job id never
 * meet the user's job. The derived id is the user's job id with this prefix (a job id is a UUID, so it never starts
 * with it by itself).
 */
export const SHADOW_JOB_PREFIX = 'shadow:';

/** The team a shadow copy's usage and cost are billed to (the platform's spend, visible in the roll-ups). */
export const SHADOW_TEAM = 'shadow';

/** The job id of the shadow copy of `jobId`: `shadow:<job id>`. @throws Error when `jobId` is already a shadow id. */
export function shadowJobId(jobId: string): string {
  if (isShadowJobId(jobId)) throw new Error(`job id ${jobId.slice(0, 64)} is already a shadow copy's id`);
  return `${SHADOW_JOB_PREFIX}${jobId}`;
}

/** Whether a job id is a shadow copy's (derived by {@link shadowJobId}). */
export function isShadowJobId(jobId: string): boolean {
  return jobId.startsWith(SHADOW_JOB_PREFIX);
}

/** The user's job id behind a job id: the id itself, or for a shadow copy the job it copies. */
export function userJobIdOf(jobId: string): string {
  return isShadowJobId(jobId) ? jobId.slice(SHADOW_JOB_PREFIX.length) : jobId;
}
