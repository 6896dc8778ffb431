import { isShadowJobId, shadowRunOf, userJobIdOf } from '@llmgov/contracts';
import { routesToCanary } from '@llmgov/policy';
import type { ShadowSampleKey } from '@llmgov/persistence';

/** The open shadow as the labeler pairs samples for it. */
export interface ShadowUnderTest {
  /** The experiment's `policy_canaries` id. */
  id: number;
  /** The shadow's policy version. */
  version: number;
  /** The stable version it started next to. */
  stableVersion: number;
  /** Share of job ids copied, percent (0 < percent ≤ 100). */
  percent: number;
  /** When it started, epoch ms. */
  startedAt: number;
}

/**
 * Which paired sample an event of a job contributes to, if any (ADR 0009):
 * - a shadow copy's event (job `shadow:<job id>`, or flagged shadow) decided by the shadow's version is the `shadow`
 *   variant of the user's job;
 * - a user job's event decided by the stable version it started next to, for a job whose hash falls under the
 *   shadow's percent (`routesToCanary`, the router's bucketing), is the `stable` variant;
 * - anything else (before the shadow started, another version, a job outside the share, no version, a shadow run's
 *   copy `shadow:<run id>:<job id>`, which `llmgov shadow` pairs itself) is not a sample.
 */
export function shadowSampleKey(
  ev: { job_id: string | null; policy_version: number | null; occurred_at: number; shadow?: boolean },
  s: ShadowUnderTest | undefined,
): ShadowSampleKey | undefined {
  if (!s || ev.job_id === null || ev.policy_version === null || ev.occurred_at < s.startedAt) return undefined;
  if (ev.shadow === true || isShadowJobId(ev.job_id)) {
    if (ev.policy_version !== s.version || shadowRunOf(ev.job_id) !== undefined) return undefined;
    return { experimentId: s.id, jobId: userJobIdOf(ev.job_id), variant: 'shadow', policyVersion: ev.policy_version };
  }
  if (ev.policy_version !== s.stableVersion || !routesToCanary(ev.job_id, s.percent)) return undefined;
  return { experimentId: s.id, jobId: ev.job_id, variant: 'stable', policyVersion: ev.policy_version };
}
