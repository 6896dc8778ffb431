/** The quality cascade of issue 11 §2: when a judged answer is re-run on a higher tier, and which answer is released. */

/** An SLO class's `escalation` block (libs/policy `EscalationPolicy`), restated here so this lib stays policy-free. */
export interface CascadePolicy {
  /** Whether an answer below min_quality may be re-run on the next allowed tier. */
  allowed: boolean;
  /** Most re-runs of one job on a higher tier (attempt 1 is the first run, so attempts go up to 1 + max_escalations). */
  max_escalations: number;
}

export interface EscalationInput {
  /** Judged quality of this attempt's answer, 0..1. */
  quality: number;
  /** The request's min_quality (the completion's `budget.min_quality`), 0..1. */
  minQuality: number;
  /** The model declined or said the context lacks the answer (never good enough, whatever its quality). */
  refusal: boolean;
  /** 1-based attempt number of the answer being judged. */
  attempt: number;
  /** Tier that produced the answer. */
  tier: string;
  /** The SLO class's escalation block under the policy version that decided the job; undefined: no cascade. */
  policy: CascadePolicy | undefined;
  /** Tiers the SLO class allows (any order). */
  allowedTiers: readonly string[];
  /** All tiers, cheapest first (libs/policy `TIERS`: S, M, L). */
  tierOrder: readonly string[];
}

/** Why a below-the-bar answer is not escalated, or `quality_met` when it need not be. */
export type NoEscalationReason = 'quality_met' | 'escalation_not_allowed' | 'max_escalations_reached' | 'no_higher_tier';

export type EscalationDecision =
  | {
      escalate: true;
      /** Tier of the next attempt: the cheapest allowed tier above the current one. */
      nextTier: string;
      /** `attempt + 1`. */
      nextAttempt: number;
      /** Decision reason appended to the routed record, `quality_below_min→escalate_<tier>`. */
      reason: string;
    }
  | { escalate: false; reason: NoEscalationReason };

/**
 * The escalation rule, in this order:
 * 1. `quality_met` when the answer is not a refusal and quality >= minQuality (nothing to recover);
 * 2. `escalation_not_allowed` when the class has no escalation block or `allowed` is false;
 * 3. `max_escalations_reached` when `attempt - 1` escalations already happened and that is the maximum;
 * 4. `no_higher_tier` when no allowed tier is above the current one in `tierOrder` (an unknown tier has none above it);
 * 5. otherwise escalate to the cheapest allowed tier above the current one, attempt + 1.
 * The budget reservation of the next attempt is a separate step: a refused reservation finalises the job instead.
 * Pure: no I/O, same output for the same input.
 */
export function decideEscalation(input: EscalationInput): EscalationDecision {
  if (!input.refusal && input.quality >= input.minQuality) return { escalate: false, reason: 'quality_met' };
  if (!input.policy?.allowed) return { escalate: false, reason: 'escalation_not_allowed' };
  if (input.attempt - 1 >= input.policy.max_escalations) return { escalate: false, reason: 'max_escalations_reached' };
  const at = input.tierOrder.indexOf(input.tier);
  const next = at < 0 ? undefined : input.tierOrder.slice(at + 1).find((t) => input.allowedTiers.includes(t));
  if (next === undefined) return { escalate: false, reason: 'no_higher_tier' };
  return { escalate: true, nextTier: next, nextAttempt: input.attempt + 1, reason: `quality_below_min→escalate_${next}` };
}

/** One judged attempt of a job, as kept until the job is finalised. */
export interface JudgedAttempt {
  attempt: number;
  tier: string;
  /** Judged quality, 0..1. */
  quality: number;
  /** A refusal or an unsafe answer: released only when nothing better exists. */
  refusal: boolean;
}

/**
 * The answer a cascaded job releases: the best-judged attempt, i.e. non-refusals before refusals, then the highest
 * quality, then (on a tie) the later attempt, since it ran on the higher tier.
 * @throws RangeError on an empty list.
 */
export function bestAttempt<T extends JudgedAttempt>(attempts: readonly T[]): T {
  if (attempts.length === 0) throw new RangeError('bestAttempt needs at least one judged attempt');
  return attempts.reduce((best, a) => {
    if (a.refusal !== best.refusal) return a.refusal ? best : a;
    if (a.quality !== best.quality) return a.quality > best.quality ? a : best;
    return a.attempt > best.attempt ? a : best;
  });
}

/** Tiers tried by a job, in attempt order (what the job's result reports as `tiers_tried`). */
export function triedTiers(attempts: readonly JudgedAttempt[]): string[] {
  return [...attempts].sort((a, b) => a.attempt - b.attempt).map((a) => a.tier);
}
