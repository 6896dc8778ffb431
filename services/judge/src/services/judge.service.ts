import { Inject, Injectable, Optional } from '@nestjs/common';
import { EventPublisher, Outcome, newEnvelope, type HandlerOutcome, deterministicEventId } from '@llmgov/kafka-runtime';
import { LOGGER, type Logger } from '@llmgov/observability';
import {
  Topics,
  routedTopicForTier,
  type ContextChunk,
  type InferenceCompleted,
  type InferenceJudged,
  type JobResult,
  type JobStatusChanged,
  type Tier,
} from '@llmgov/contracts';
import { JUDGE_CONFIG, JUDGE_EMBEDDINGS, JUDGE_LLM, type JudgeConfig } from '../config.js';
import type { LlmJudgeClient, LlmJudgeReply } from './llm-judge.client.js';
import {
  AnswerCacheRepository,
  JobFlagsRepository,
  SEMANTIC_CACHE,
  vectorFromBase64,
  type ExactCacheEntry,
  type PendingCacheFill,
  type SemanticCacheLayer,
} from '@llmgov/persistence';
import { ValidationError } from '@llmgov/errors';
import { JudgeMetrics } from './judge-metrics.js';
import type { EmbeddingsClient } from '@llmgov/embeddings';
import {
  DEFAULT_JUDGE_WEIGHTS,
  bestAttempt,
  combineScores,
  decideEscalation,
  decideVerdict,
  sampledAtRate,
  scoreCompletion,
  triedTiers,
  type JudgeWeights,
  type VerdictDecision,
} from '@llmgov/judging';
import { JUDGE_CASCADE, escalationRouted, type CascadePort, type StoredAttempt } from './cascade.js';
import { JUDGE_LLM_SAMPLE_DEFAULTS, TIERS, policyLlmSampleRate } from '@llmgov/policy';
import { JUDGE_POLICY, type PolicyVersionSource } from './policy-versions.js';
import { JUDGE_SPEND, judgeLeaseMs, judgeUsage, judgeWorstCaseMicroUsd, type JudgeSpendPort } from './judge-spend.js';

/** Reason added to the judged record when the LLM judge was sampled but its budget reservation was refused. */
export const LLM_JUDGE_BUDGET_REFUSED = 'llm_judge_skipped:budget_reservation_refused';

/** Tiers cheapest first (libs/policy `TIERS`). */
const TIER_ORDER = TIERS;

/** Ids of the documents behind `context`, in the order the chunks were ranked (array order), duplicates removed. */
export function retrievedDocumentIds(context: readonly ContextChunk[]): string[] {
  return [...new Set(context.map((c) => c.document_id))];
}

/**
 * Name of the judged event's deterministic id: `${job_id}:judged` for the first attempt, `${job_id}:judged:<n>`
 * for later attempts, so a redelivered completion republishes the same id while a future escalation attempt gets its own.
 */
export function judgedEventName(jobId: string, attempt: number): string {
  return attempt > 1 ? `${jobId}:judged:${attempt}` : `${jobId}:judged`;
}

/**
 * Judges completions with cheap deterministic checks (lexical and semantic support, relevance, completeness, refusal,
 * PII, safety lexicon; @llmgov/judging), releases the model text, the masked text or a template answer, finalises the
 * job and fills the caches.
 * Every effect is idempotent under redelivery: event ids are derived from the job id, the cache write is a SET.
 */
@Injectable()
export class JudgeService {
  /** The calibrated weights, with the bar overridden by JUDGE_MIN_QUALITY when set. */
  private readonly weights: JudgeWeights;

  constructor(
    @Inject(JUDGE_CONFIG) private readonly config: JudgeConfig,
    private readonly jobFlags: JobFlagsRepository,
    private readonly answers: AnswerCacheRepository,
    private readonly publisher: EventPublisher,
    private readonly metrics: JudgeMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
    /** The semantic cache layer (ADR 0008); absent in unit specs that do not exercise it. */
    @Optional() @Inject(SEMANTIC_CACHE) private readonly semantic?: SemanticCacheLayer,
    /** Real sentence embeddings for semantic support; null or absent: lexical scores only. */
    @Optional() @Inject(JUDGE_EMBEDDINGS) private readonly embeddings?: EmbeddingsClient | null,
    /** The LLM-as-judge pool; null or absent: cheap checks only. */
    @Optional() @Inject(JUDGE_LLM) private readonly llm?: LlmJudgeClient | null,
    /** The quality cascade (issue 11 §2); null or absent: a low answer is released as the fallback, never escalated. */
    @Optional() @Inject(JUDGE_CASCADE) private readonly cascade?: CascadePort | null,
    /** Policy versions, for the `judge` block's sampling rates; null or absent: JUDGE_LLM_SAMPLE* only. */
    @Optional() @Inject(JUDGE_POLICY) private readonly policies?: PolicyVersionSource | null,
    /** Budget reservations of LLM-judge calls (ADR 0007); null or absent: calls are not reserved (unit specs only). */
    @Optional() @Inject(JUDGE_SPEND) private readonly spend?: JudgeSpendPort | null,
  ) {
    this.weights = config.JUDGE_MIN_QUALITY === undefined ? DEFAULT_JUDGE_WEIGHTS : { ...DEFAULT_JUDGE_WEIGHTS, threshold: config.JUDGE_MIN_QUALITY };
  }

  /**
   * Judges one completion (model or cache hit alike). Order of effects: InferenceJudged, then JobStatusChanged
   * `completed` (stage judge), then the cache fill on PASS for non-cached answers. A crash in between
   * redelivers the completion, which republishes the same event ids.
   * A cancelled job gets `cancelled` (stage judge) instead and the record is skipped.
   * @throws RetriableError when Redis or Kafka cannot be reached (the runtime retries, then dead-letters).
   */
  async judge(c: InferenceCompleted): Promise<HandlerOutcome> {
    if (await this.jobFlags.isCancelled(c.job_id)) {
      await this.publishStatus(c, {
        state: 'cancelled',
        result: null,
        error: { code: 'cancelled', message: 'cancelled by the submitter before the answer was released' },
      });
      return Outcome.skipped('job cancelled');
    }

    const cheap = await scoreCompletion(
      { prompt: c.prompt, answer: c.text, contextTexts: c.context.map((x) => x.text), finishReason: c.finish_reason },
      this.weights,
      this.embeddings ?? undefined,
      (err: unknown) => this.logger.warn({ job_id: c.job_id, err: String(err) }, 'semantic support unavailable, lexical scores only'),
    );
    const { p: llm, skipped } = await this.llmSupport(c);
    const scores = llm === null ? cheap : combineScores({ ...cheap, llm }, this.weights);
    const verdict = decideVerdict({
      text: c.text,
      finishReason: c.finish_reason,
      quality: scores.quality,
      refusal: scores.refusal,
      threshold: this.weights.threshold,
      canEscalate: false,
    });
    const base = skipped ? { ...verdict, reasons: [...verdict.reasons, skipped] } : verdict;
    const g = scores.faithfulness;
    const documentIds = retrievedDocumentIds(c.context);
    // A shadow copy (ADR 0009) is judged once, as answered: no escalation (it would need a reservation the shadow never
    // takes), no job status (the user's job is the stable answer's), no cache fill (it never serves a user).
    if (c.shadow) {
      await this.publishJudged(c, base, scores, llm, g, documentIds);
      this.metrics.record(base.verdict, c.tier, g);
      this.logger.info({ job_id: c.job_id, verdict: base.verdict, quality: scores.quality, policy_version: c.policy_version }, 'shadow completion judged');
      return Outcome.success();
    }
    const cascaded = await this.runCascade(c, base, scores.quality, scores.refusal, g, documentIds);
    if (cascaded.escalated) {
      await this.publishJudged(c, { ...base, verdict: 'ESCALATE', reasons: [...base.reasons, cascaded.reason] }, scores, llm, g, documentIds);
      this.metrics.record('ESCALATE', c.tier, g);
      this.logger.info({ job_id: c.job_id, quality: scores.quality, tier: c.tier, attempt: c.attempt, reason: cascaded.reason }, 'completion escalated');
      return Outcome.success();
    }
    const decision = base;
    const released = cascaded.released;

    await this.publishJudged(c, decision, scores, llm, g, documentIds);

    await this.publishStatus(c, {
      state: 'completed',
      error: null,
      result: released ?? {
        text: decision.finalText,
        finish_reason: decision.finishReason,
        tier: c.tier,
        model: c.model,
        groundedness: g,
        retrieved_document_ids: documentIds,
        prompt_tokens: c.usage.prompt_tokens,
        completion_tokens: c.usage.completion_tokens,
        route: c.route,
        policy_version: c.policy_version,
        decision_reasons: c.decision_reasons,
      },
    });
    this.metrics.record(decision.verdict, c.tier, g);

    if (decision.verdict === 'PASS' && !c.from_cache) await this.fillCaches(c, decision.finalText, scores.quality);
    this.logger.info(
      {
        job_id: c.job_id,
        verdict: decision.verdict,
        quality: scores.quality,
        faithfulness: g,
        semantic: scores.semantic,
        tier: c.tier,
        from_cache: c.from_cache,
        reasons: decision.reasons,
      },
      'completion judged',
    );
    return Outcome.success();
  }

  /**
   * The quality cascade (issue 11 §2; README "The cascade"). Without a cascade port, or for REFUSE and FAIL_PII
   * verdicts, nothing happens. Otherwise the attempt is kept, then `decideEscalation` (request's budget.min_quality,
   * the SLO class's escalation block under the deciding policy version) says whether to re-run on the next tier; an
   * escalation needs the next attempt's budget reservation, then publishes the routed record of attempt + 1.
   * When the job is not escalated and more than one attempt was judged, the best-judged attempt is released, with
   * `tiers_tried:<S,M,...>` and, when an escalation was wanted but not possible, `escalation_stopped:<why>` appended to
   * its decision reasons.
   * @throws RetriableError when Redis, Postgres or Kafka cannot be reached (the runtime retries).
   */
  private async runCascade(
    c: InferenceCompleted,
    base: VerdictDecision,
    quality: number,
    refusal: boolean,
    groundedness: number,
    documentIds: string[],
  ): Promise<{ escalated: true; reason: string } | { escalated: false; released: JobResult | null }> {
    if (!this.cascade || base.verdict === 'REFUSE' || base.verdict === 'FAIL_PII' || c.from_cache) return { escalated: false, released: null };
    const ctx = await this.cascade.context(c);
    // A first attempt whose SLO class allows no escalation can never be part of a cascade: nothing to keep.
    if (c.attempt === 1 && !ctx?.escalation?.allowed) return { escalated: false, released: null };
    const current: StoredAttempt = {
      attempt: c.attempt,
      tier: c.tier,
      model: c.model,
      quality,
      refusal,
      text: base.finalText,
      finish_reason: base.finishReason,
      groundedness,
      prompt_tokens: c.usage.prompt_tokens,
      completion_tokens: c.usage.completion_tokens,
      retrieved_document_ids: documentIds,
    };
    await this.cascade.remember(c.job_id, current);
    const rule = decideEscalation({
      quality,
      minQuality: c.budget.min_quality,
      refusal,
      attempt: c.attempt,
      tier: c.tier,
      policy: ctx?.escalation,
      allowedTiers: ctx?.allowedTiers ?? [],
      tierOrder: TIER_ORDER,
    });
    let stopped: string | null = rule.escalate || rule.reason === 'quality_met' || rule.reason === 'escalation_not_allowed' ? null : rule.reason;
    if (rule.escalate) {
      const nextTier = rule.nextTier as Tier;
      const model = ctx?.models[nextTier];
      if (model === undefined) stopped = 'no_model';
      else {
        const held = await this.cascade.reserveAttempt(c, nextTier, rule.nextAttempt);
        if (held === null) stopped = 'budget_reservation_refused';
        else {
          // The next tier's template under the deciding version (null when the port does not say: the pool's own).
          const template = ctx?.templates?.[nextTier] ?? null;
          await this.publisher.publish(routedTopicForTier(nextTier), { value: escalationRouted(c, nextTier, model, rule.reason, template) });
          // Counted once per escalation: a redelivered completion finds its reservation already held.
          if (held.first) {
            this.metrics.escalations.inc({ from_tier: c.tier, to_tier: nextTier });
            this.metrics.escalationReservedUsd.inc({ to_tier: nextTier }, held.usd);
          }
          return { escalated: true, reason: rule.reason };
        }
      }
    }
    const attempts = c.attempt > 1 ? await this.cascade.attempts(c.job_id) : [current];
    if (!attempts.some((a) => a.attempt === c.attempt)) attempts.push(current);
    if (attempts.length < 2 && stopped === null) return { escalated: false, released: null };
    const best = bestAttempt(attempts);
    if (attempts.length > 1)
      this.metrics.escalationOutcomes.inc({ outcome: !best.refusal && best.quality >= c.budget.min_quality ? 'recovered' : 'not_recovered' });
    const reasons = [...c.decision_reasons, ...(stopped ? [`escalation_stopped:${stopped}`] : []), `tiers_tried:${triedTiers(attempts).join(',')}`];
    return {
      escalated: false,
      released: {
        text: best.text,
        finish_reason: best.finish_reason,
        tier: best.tier,
        model: best.model,
        groundedness: best.groundedness,
        retrieved_document_ids: best.retrieved_document_ids,
        prompt_tokens: best.prompt_tokens,
        completion_tokens: best.completion_tokens,
        route: c.route,
        policy_version: c.policy_version,
        decision_reasons: reasons,
      },
    };
  }

  private async publishJudged(
    c: InferenceCompleted,
    decision: VerdictDecision,
    scores: { faithfulness: number; relevance: number; completeness: number; semantic: number | null; quality: number },
    llm: number | null,
    g: number,
    documentIds: string[],
  ): Promise<void> {
    const judged: InferenceJudged = {
      ...newEnvelope(c.tenant_id, c.job_id),
      event_id: deterministicEventId(judgedEventName(c.job_id, c.attempt)),
      job_id: c.job_id,
      shadow: c.shadow,
      verdict: decision.verdict,
      groundedness: g,
      relevance: scores.relevance,
      pii_found: decision.piiFound,
      final_text: decision.finalText,
      tier: c.tier,
      model: c.model,
      retrieved_document_ids: documentIds,
      prompt: c.prompt,
      attempt: c.attempt,
      judge_method: llm === null ? 'DETERMINISTIC' : 'LLM',
      reasons: decision.reasons,
      route: c.route,
      policy_version: c.policy_version,
      faithfulness: scores.faithfulness,
      completeness: scores.completeness,
      semantic_support: scores.semantic,
      llm_support: llm,
      quality: scores.quality,
      judge_version: this.weights.version,
    };
    await this.publisher.publish(Topics.inferenceJudged, { value: judged });
  }

  /**
   * P(yes) of the LLM judge for a sampled model answer; `p` null when there is no judge pool, the answer is a cache hit
   * or not sampled, the budget reservation is refused (then `skipped` says so: the cheap checks alone judge it), or the
   * call fails (logged; the reservation is given back). A sampled call first reserves its worst case under the job's
   * tenant, team and route budgets (`judge:<job_id>:<attempt>`, ADR 0007), and a call that returned publishes its usage
   * (kind JUDGE, feature `judge`) for the cost-attributor to bill and settle.
   * @throws RetriableError when Redis, Postgres or Kafka cannot be reached.
   */
  private async llmSupport(c: InferenceCompleted): Promise<{ p: number | null; skipped?: string }> {
    if (!this.llm || c.from_cache) return { p: null };
    if (!sampledAtRate(c.job_id, await this.llmSampleRate(c))) return { p: null };
    if (this.spend) {
      const held = await this.spend.reserve(c, judgeWorstCaseMicroUsd(this.llm.pool), judgeLeaseMs(c, this.llm.pool.timeout_ms));
      if (!held.ok) {
        this.metrics.llmCalls.inc({ outcome: 'budget_refused' });
        this.logger.info({ job_id: c.job_id, tenant_id: c.tenant_id, route: c.route, reason: held.message }, 'LLM judge skipped: budget reservation refused');
        return { p: null, skipped: LLM_JUDGE_BUDGET_REFUSED };
      }
    }
    let reply: LlmJudgeReply;
    try {
      reply = await this.llm.supportProbability({ question: c.prompt, context: c.context.map((x) => x.text), answer: c.text });
    } catch (err) {
      this.metrics.llmCalls.inc({ outcome: 'failed' });
      this.logger.warn({ job_id: c.job_id, err: String(err) }, 'LLM judge unavailable, cheap checks only');
      await this.spend?.release(c);
      return { p: null };
    }
    this.metrics.llmCalls.inc({ outcome: 'called' });
    await this.publisher.publish(Topics.usageRecorded, { value: judgeUsage(c, this.llm.pool, reply) });
    return { p: reply.verdict?.p_yes ?? null };
  }

  /**
   * Share of answers like `c` the LLM judge sees, first defined wins: the route's `judge.llm_sample` in the policy
   * version that decided the job, that version's `judge.llm_sample.<tier>`, then (no policy, or the policy says neither)
   * JUDGE_LLM_SAMPLE_ROUTES for the route and JUDGE_LLM_SAMPLE for the tier, whose default is `JUDGE_LLM_SAMPLE_DEFAULTS`.
   * @throws RetriableError when Postgres cannot be reached (the version is read once, then kept).
   */
  async llmSampleRate(c: Pick<InferenceCompleted, 'tenant_id' | 'route' | 'tier' | 'policy_version'>): Promise<number> {
    const policy = this.policies ? await this.policies.document(c.policy_version) : undefined;
    const fromPolicy = policy ? policyLlmSampleRate(policy, { tenant: c.tenant_id, route: c.route, tier: c.tier }) : undefined;
    if (fromPolicy !== undefined) return fromPolicy;
    const routes = this.config.JUDGE_LLM_SAMPLE_ROUTES ?? {};
    return (
      (c.route !== null && Object.hasOwn(routes, c.route) ? routes[c.route] : undefined) ?? (this.config.JUDGE_LLM_SAMPLE ?? JUDGE_LLM_SAMPLE_DEFAULTS)[c.tier]
    );
  }

  /**
   * Caches a PASSed answer. A job the router decided under a policy left its fill instructions (`setPending`): the TTL of
   * both layers from the policy (intent over SLO class; 0 caches nothing) and, for the semantic layer, the scope and the
   * query vector; the entry records the answer, its tier, its judged quality, the source prompt and the chunks it was
   * built from. Without instructions (the built-in tier rule) only the exact layer is filled, for JUDGE_CACHE_TTL_S.
   * @throws RetriableError when Redis cannot be reached.
   */
  private async fillCaches(c: InferenceCompleted, text: string, quality: number): Promise<void> {
    const answer = { text, finish_reason: c.finish_reason, model: c.model, tier: c.tier, context: c.context, quality };
    const pending = this.semantic ? await this.semantic.records.getPending(c.job_id) : undefined;
    if (!pending || pending.tenant_id !== c.tenant_id) {
      await this.answers.fill(c.tenant_id, c.cache_key, answer, this.config.JUDGE_CACHE_TTL_S);
      return;
    }
    if (pending.ttl_s < 1) return;
    await this.answers.fill(c.tenant_id, c.cache_key, answer, pending.ttl_s);
    if (pending.scope === null || pending.vector_b64 === null) return;
    try {
      await this.addSemantic(c, answer, pending);
    } catch (err) {
      // A malformed fill instruction costs the cache entry, never the judged job: logged, not retried or dead-lettered.
      if (!(err instanceof ValidationError)) throw err;
      this.logger.warn({ job_id: c.job_id, reasons: err.reasons }, 'semantic cache entry not added');
    }
  }

  private async addSemantic(c: InferenceCompleted, answer: ExactCacheEntry, pending: PendingCacheFill): Promise<void> {
    await this.semantic!.store.add(
      { tenantId: c.tenant_id, route: pending.route, key: pending.scope! },
      {
        ...answer,
        id: c.job_id,
        route: pending.route,
        quality: answer.quality ?? 0,
        source_prompt: c.prompt,
        chunk_ids: c.context.map((x) => x.chunk_id),
        document_ids: retrievedDocumentIds(c.context),
        intent: pending.intent,
        created_at: 0,
        expires_at: 0,
      },
      vectorFromBase64(pending.vector_b64!),
      { ttlSeconds: pending.ttl_s, maxEntries: pending.max_entries },
    );
  }

  private async publishStatus(c: InferenceCompleted, change: Pick<JobStatusChanged, 'state' | 'result' | 'error'>): Promise<void> {
    const event: JobStatusChanged = {
      ...newEnvelope(c.tenant_id, c.job_id),
      event_id: deterministicEventId(`${c.job_id}:judge:${change.state}`),
      job_id: c.job_id,
      stage: 'judge',
      ...change,
    };
    await this.publisher.publish(Topics.jobStatus, { value: event });
  }
}
