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

/** The user's job id behind a job id: the id itself, or for a shadow copy (live or of a run) the job it copies. */
export function userJobIdOf(jobId: string): string {
  if (!isShadowJobId(jobId)) return jobId;
  return shadowRunOf(jobId)?.userJobId ?? jobId.slice(SHADOW_JOB_PREFIX.length);
}

/**
 * A shadow run's id (`llmgov shadow`, `llmgov replay --target shadow:V`; issue 12 §5): the replay id that published
 * the copies, `rp-…` or `sr-…` (letters, digits and `-`, at most 64 characters, never a `:`).
 */
const RUN_ID_RE = /^[a-z]{2}-[a-z0-9-]{1,61}$/;

/**
 * The job id of a shadow run's copy of `jobId`: `shadow:<run id>:<job id>`. A run re-decides past jobs under another
 * version; its own id is part of the copy's, so two runs over the same jobs (or a run beside a live shadow, whose copy
 * is `shadow:<job id>`) never share effect markers, leases or deterministic event ids.
 * @throws Error when `runId` is not a run id or `jobId` is already a shadow id.
 */
export function shadowRunJobId(runId: string, jobId: string): string {
  if (!RUN_ID_RE.test(runId)) throw new Error(`"${runId.slice(0, 64)}" is not a shadow run id`);
  return `${shadowJobId(jobId).replace(SHADOW_JOB_PREFIX, `${SHADOW_JOB_PREFIX}${runId}:`)}`;
}

/** The run and user job of a shadow run's copy (`shadow:<run id>:<job id>`), or undefined for any other job id. */
export function shadowRunOf(jobId: string): { runId: string; userJobId: string } | undefined {
  if (!isShadowJobId(jobId)) return undefined;
  const rest = jobId.slice(SHADOW_JOB_PREFIX.length);
  const i = rest.indexOf(':');
  if (i < 0) return undefined;
  const runId = rest.slice(0, i);
  return RUN_ID_RE.test(runId) ? { runId, userJobId: rest.slice(i + 1) } : undefined;
}
