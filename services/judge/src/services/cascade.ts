import { deterministicEventId, newEnvelope } from '@llmgov/kafka-runtime';
import type { InferenceCompleted, InferenceRequestRouted, Tier } from '@llmgov/contracts';
import type { CascadePolicy, JudgedAttempt } from '@llmgov/judging';

/** Nest injection token of the judge's optional `CascadePort`. */
export const JUDGE_CASCADE = Symbol('JUDGE_CASCADE');

/** What the cascade needs to know about the policy version that decided a job. */
export interface CascadeContext {
  /** The job's SLO class `escalation` block; undefined: no cascade. */
  escalation: CascadePolicy | undefined;
  /** Tiers the job's SLO class allows. */
  allowedTiers: readonly Tier[];
  /** Served model of each tier under that policy version. */
  models: Partial<Record<Tier, string>>;
  /**
   * Prompt template (`name@version`) of each tier under that policy version, stamped on an escalated attempt's routed
   * record (`prompt_template`); absent: the record carries null and the worker renders its pool's own template.
   */
  templates?: Partial<Record<Tier, string>>;
}

/** One judged attempt as kept until the job is finalised: enough to release it as the job's answer. */
export interface StoredAttempt extends JudgedAttempt {
  tier: Tier;
  model: string;
  /** Text the judge would release for this attempt (model text, masked text or fallback). */
  text: string;
  finish_reason: string;
  groundedness: number;
  prompt_tokens: number;
  completion_tokens: number;
  retrieved_document_ids: string[];
}

/** A granted reservation of an escalated attempt. */
export interface AttemptReservation {
  /** Worst case held, USD. */
  usd: number;
  /** Whether this call made it (false when it was already held: a redelivered completion). */
  first: boolean;
}

/**
 * The I/O the cascade needs, behind one port so the judge's rule stays testable without a stack: the policy version's
 * escalation settings, the budget reservation of the next attempt (ADR 0007, `jobReservationId(job, attempt)`) and the
 * judged attempts of a job. Every method is idempotent under redelivery.
 */
export interface CascadePort {
  /** The cascade settings of the policy version that decided the completion; null: no policy (no cascade). */
  context(c: InferenceCompleted): Promise<CascadeContext | null>;
  /**
   * Reserves the worst case of attempt `attempt` on `tier`.
   * @returns null when a budget refuses it (or it is closed: settled, released, expired); else the amount held, USD,
   *   and whether this call made the reservation (false: already held, a redelivery).
   * @throws RetriableError
   */
  reserveAttempt(c: InferenceCompleted, tier: Tier, attempt: number): Promise<AttemptReservation | null>;
  /** Keeps (SET, same key per job and attempt) one judged attempt of a job. @throws RetriableError */
  remember(jobId: string, attempt: StoredAttempt): Promise<void>;
  /** The judged attempts of a job kept so far, any order. @throws RetriableError */
  attempts(jobId: string): Promise<StoredAttempt[]>;
}

/**
 * The routed record of an escalation: the same job, prompt, context, options and budget as the completion, on
 * `tier` with attempt + 1, a deterministic event id (`job_id`, attempt, `routed`, the router's scheme for attempt 1) so a
 * redelivered completion republishes the same record, and `reason` appended to the decision reasons. `promptTemplate`
 * is the template the deciding policy version names for `tier` (`name@version`), null when unknown (the pool's own).
 */
export function escalationRouted(
  c: InferenceCompleted,
  tier: Tier,
  model: string,
  reason: string,
  promptTemplate: string | null = null,
): InferenceRequestRouted {
  const attempt = c.attempt + 1;
  return {
    ...newEnvelope(c.tenant_id, c.job_id),
    event_id: deterministicEventId(c.job_id, String(attempt), 'routed'),
    job_id: c.job_id,
    shadow: c.shadow,
    tier,
    model,
    prompt: c.prompt,
    system_prompt: c.system_prompt,
    context: c.context,
    max_tokens: c.max_tokens,
    temperature: c.temperature,
    deadline_at: c.deadline_at,
    attempt,
    route_reason: `escalate:${c.route ?? 'default'}`,
    cache_key: c.cache_key,
    budget: c.budget,
    team: c.team,
    feature: c.feature,
    route: c.route,
    policy_version: c.policy_version,
    decision_reasons: [...c.decision_reasons, reason],
    prompt_template: promptTemplate,
  };
}
