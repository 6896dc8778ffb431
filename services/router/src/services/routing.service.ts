import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { EventPublisher, Outcome, deterministicEventId, newEnvelope, shadowRunOfHeaders, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { RetriableError } from '@llmgov/errors';
import { LOGGER, PlatformMetrics, type Logger } from '@llmgov/observability';
import {
  AnswerCacheRepository,
  BudgetReservations,
  BudgetSpendRepository,
  jobReservationId,
  EffectMarkersRepository,
  JobFlagsRepository,
  RedisKeys,
  SEMANTIC_CACHE,
  semanticScopeKey,
  vectorToBase64,
  type ExactCacheEntry,
  type SemanticCacheEntry,
  type SemanticCacheLayer,
  type SemanticLookup,
  type SemanticScope,
} from '@llmgov/persistence';
import { Bm25SparseEncoder, countTokens, type EmbeddingsClient } from '@llmgov/embeddings';
import { indexVersion, type VectorStore } from '@llmgov/vector-store';
import {
  SHADOW_TEAM,
  Topics,
  routedTopicForTier,
  shadowJobId,
  shadowRunJobId,
  shadowRunOf,
  type ContextChunk,
  type InferenceCompleted,
  type InferenceRequestRouted,
  type InferenceRequestValidated,
  type JobError,
  type JobState,
  type JobStatusChanged,
  type Tier,
} from '@llmgov/contracts';
import {
  PolicyLookupError,
  cacheTtlSeconds,
  decide,
  effectiveSlo,
  intentReason,
  resolveRoute,
  semanticCacheSettings,
  type Decision,
  type DecisionInput,
  type PolicyTier,
} from '@llmgov/policy';
import { ROUTER_CONFIG, type RouterConfig } from '../config.js';
import { ActivePolicySource, type PolicySnapshot } from '../adapters/active-policy.js';
import { CapacitySignalSource } from '../adapters/capacity-signals.js';
import { PINNED_POLICY_METADATA_KEY, PinnedPolicySource } from '../adapters/pinned-policy.js';
import { chooseTier } from './tier-policy.js';
import { RouterDriftMetrics } from './drift-metrics.js';
import { TenantIndexVersions } from '../adapters/index-versions.js';

import { EMBEDDINGS_CLIENT, VECTOR_STORE } from '../tokens.js';
/** The routed marker outlives any redelivery: 7 days, seconds. */
const ROUTED_MARKER_TTL_S = 7 * 24 * 3600;

type Stamp = { route: string | null; policy_version: number | null; decision_reasons: string[] };

/** The final status of a job (`jobId`: the user's, or a shadow run's copy) answered with its route's template. */
function templateStatus(req: InferenceRequestValidated, jobId: string, d: Decision, policy: PolicySnapshot, stamp: Stamp): JobStatusChanged {
  return {
    ...newEnvelope(req.tenant_id, jobId),
    event_id: deterministicEventId(jobId, 'router', 'completed'),
    job_id: jobId,
    state: 'completed',
    stage: 'router',
    result: {
      text: policy.document.tenants[req.tenant_id]?.routes[d.route]?.template_answer ?? '',
      finish_reason: 'template',
      tier: 'S',
      model: 'policy-template',
      groundedness: 0,
      retrieved_document_ids: [],
      prompt_tokens: 0,
      completion_tokens: 0,
      ...stamp,
    },
    error: null,
  };
}

/** The final status of a shadow run's copy the router did not send to inference (refused, or shed). */
function copyFailed(req: InferenceRequestValidated, jobId: string, code: string, message: string): JobStatusChanged {
  return {
    ...newEnvelope(req.tenant_id, jobId),
    event_id: deterministicEventId(jobId, 'router', 'failed'),
    job_id: jobId,
    state: 'failed',
    stage: 'router',
    result: null,
    error: { code, message },
  };
}

/**
 * The request's classification by the version's classifier on the query embedding; null without a classifier or a
 * query, and for a prompt the classifier refuses (e.g. empty after normalisation): such a request is decided unclassified.
 */
function classify(policy: PolicySnapshot, req: InferenceRequestValidated, query: { vector: number[] } | undefined): DecisionInput['classification'] {
  if (policy.classifier === null || query === undefined) return null;
  try {
    return policy.classifier.classify(req.prompt, query.vector, { injectionScore: req.injection_score });
  } catch {
    return null;
  }
}

/** A decision's reasons with the classified intent first (`intent:<name>`, libs/policy intentReason), when there is one. */
function withIntent(reasons: string[], classification: { intent: string } | null): string[] {
  return classification ? [intentReason(classification.intent), ...reasons] : reasons;
}
/** Reservations a request tries: its decision, the re-decision within what the budgets have left, one with nothing left. */
const MAX_RESERVE_ATTEMPTS = 3;

/**
 * The routing policy: cancellation and deadline guards, exact cache, budget check, retrieval (RAG),
 * tier choice, then publish to the tier's routed topic and mark the job in_progress.
 */
@Injectable()
export class RoutingService {
  private readonly decisions: Counter<'route' | 'tier'>;
  private readonly shadowCopies: Counter<'outcome' | 'tier'>;
  private readonly policyDecisions: Counter<'route' | 'action' | 'tier'>;
  private readonly decisionReasons: Counter<'reason'>;
  private readonly decisionSeconds: Histogram;
  private readonly cacheLookups: Counter<'layer' | 'result'>;
  private readonly semanticSimilarity: Histogram;
  private readonly semanticThreshold: Gauge<'tenant' | 'route' | 'source'>;
  private readonly semanticLookupSeconds: Histogram;
  /** The same BM25 encoder the embedder indexes chunks with; its query side is the lexical leg of hybrid search. */
  private readonly sparse = new Bm25SparseEncoder();
  /** The tier models and the embedding model: cached answers are keyed by them, so a model change starts a fresh cache. */
  private get modelGeneration(): string {
    const m = this.config.TIER_MODELS;
    return `S=${m.S},M=${m.M},L=${m.L},emb=${this.config.EMBEDDINGS}:${this.config.EMBEDDINGS_MODEL ?? 'default'}`;
  }

  constructor(
    @Inject(ROUTER_CONFIG) private readonly config: RouterConfig,
    private readonly jobFlags: JobFlagsRepository,
    private readonly answers: AnswerCacheRepository,
    private readonly spend: BudgetSpendRepository,
    private readonly markers: EffectMarkersRepository,
    @Inject(VECTOR_STORE) private readonly store: VectorStore,
    @Inject(EMBEDDINGS_CLIENT) private readonly embeddings: EmbeddingsClient,
    private readonly publisher: EventPublisher,
    private readonly policies: ActivePolicySource,
    private readonly reservations: BudgetReservations,
    metrics: PlatformMetrics,
    /** The capacity gate's per-tier queue-wait estimates (absent in specs that build the service by hand: no signal). */
    @Optional() private readonly capacity?: CapacitySignalSource,
    /** The semantic cache layer (ADR 0008); absent in unit specs that do not exercise it. */
    @Optional() @Inject(SEMANTIC_CACHE) private readonly semantic?: SemanticCacheLayer,
    /** Per-request pinned policy versions (metadata policy_version, for evals); absent in specs that build the service by hand. */
    @Optional() private readonly pinned?: PinnedPolicySource,
    /** Intent and tier drift (absent in specs that build the service by hand). */
    @Optional() private readonly drift?: RouterDriftMetrics,
    /** Logs a failed shadow copy (absent in specs that build the service by hand). */
    @Optional() @Inject(LOGGER) private readonly logger?: Logger,
    /** The tenants' active index versions (issue 12 §2; absent in specs that build the service by hand: shared collections). */
    @Optional() private readonly indexVersions?: TenantIndexVersions,
  ) {
    this.cacheLookups = new Counter({
      name: 'router_cache_lookups_total',
      help: 'Answer cache lookups of the governed path by layer (exact, semantic) and result (hit: an entry found at or above the threshold; miss)',
      labelNames: ['layer', 'result'],
      registers: [metrics.registry],
    });
    this.semanticSimilarity = new Histogram({
      name: 'router_semantic_cache_similarity',
      help: 'Cosine similarity of the nearest live semantic-cache entry per lookup (served or not), unit-less',
      buckets: [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.96, 0.98, 0.99, 1],
      registers: [metrics.registry],
    });
    this.semanticThreshold = new Gauge({
      name: 'router_semantic_cache_threshold',
      help: 'Similarity threshold of the semantic cache last used per tenant and policy route; source = calibrated (llmgov cache calibrate) or policy (default)',
      labelNames: ['tenant', 'route', 'source'],
      registers: [metrics.registry],
    });
    this.semanticLookupSeconds = new Histogram({
      name: 'router_semantic_cache_lookup_seconds',
      help: 'Time of one semantic-cache lookup (script call to sync the scope copy, in-process scan, entry fetch), seconds',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05],
      registers: [metrics.registry],
    });
    this.policyDecisions = new Counter({
      name: 'router_policy_decisions_total',
      help: 'Policy decisions by policy route, action (infer, serve_cache, serve_template, refuse) and tier',
      labelNames: ['route', 'action', 'tier'],
      registers: [metrics.registry],
    });
    this.decisionReasons = new Counter({
      name: 'router_policy_decision_reasons_total',
      help: 'Rule ids that fired in policy decisions (e.g. latency_budget_lt_800ms→no_rag)',
      labelNames: ['reason'],
      registers: [metrics.registry],
    });
    this.decisionSeconds = new Histogram({
      name: 'router_policy_decision_seconds',
      help: 'Time of the policy engine itself per request (classification and decide(), without the embedding call, cache reads, reservation and retrieval), seconds',
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [metrics.registry],
    });
    this.shadowCopies = new Counter({
      name: 'router_shadow_copies_total',
      help: 'Jobs under the open shadow’s share decided again by the shadow version, by outcome (published: a copy sent to the tier’s routed topic; shed_capacity: dropped by the capacity gate, see shedsShadowCopy; not_infer: the shadow version would not infer, nothing sent; no_route: the shadow version has no route for it; error: the copy failed, the user’s job is unaffected) and tier',
      labelNames: ['outcome', 'tier'],
      registers: [metrics.registry],
    });
    this.decisions = new Counter({
      name: 'router_decisions_total',
      help: 'Routing decisions by route (rag, direct, cache_hit, refused_budget, expired, cancelled) and tier',
      labelNames: ['route', 'tier'],
      registers: [metrics.registry],
    });
  }

  /**
   * Routes one validated request once: a redelivered request (the router died after publishing, before its commit) is
   * skipped by a Redis marker set after the decision was published, and every record it publishes has a deterministic
   * event id, so the window between publish and marker yields at most a same-id duplicate that consumers dedupe.
   * @throws RetriableError when Redis, retrieval or Kafka is unavailable.
   */
  async route(req: InferenceRequestValidated, headers: Readonly<Record<string, string>> = {}): Promise<HandlerOutcome> {
    const run = shadowRunOfHeaders(headers);
    if (run) return this.routeShadowRunCopy(req, run);
    const marker = RedisKeys.jobRouted(req.job_id);
    if (await this.markers.isDone(marker)) return Outcome.skipped('already routed (redelivered)');
    const outcome = await this.decide(req);
    await this.markers.markDone(marker, outcome.status, ROUTED_MARKER_TTL_S);
    return outcome;
  }

  private async decide(req: InferenceRequestValidated): Promise<HandlerOutcome> {
    if (await this.jobFlags.isCancelled(req.job_id)) {
      await this.status(req, 'cancelled', { code: 'cancelled', message: 'cancelled by the submitter' });
      this.decisions.inc({ route: 'cancelled', tier: 'none' });
      return Outcome.skipped('job cancelled');
    }
    const deadlineAt = req.occurred_at + req.budget.latency_ms;
    if (Date.now() > deadlineAt) {
      await this.status(req, 'expired', { code: 'deadline_exceeded', message: `latency budget of ${req.budget.latency_ms} ms spent before routing` });
      this.decisions.inc({ route: 'expired', tier: 'none' });
      return Outcome.skipped('deadline passed');
    }
    // An eval may pin the request to a version of this router's namespace that is not active (PinnedPolicySource).
    const pin = (await this.pinned?.lookup(req.metadata)) ?? { kind: 'none' as const };
    if (pin.kind === 'invalid') {
      await this.status(req, 'failed', { code: 'invalid_policy_version', message: pin.reason });
      this.decisions.inc({ route: 'invalid_policy_version', tier: 'none' });
      return Outcome.skipped('pinned policy version cannot be honoured');
    }
    // Otherwise the version that decides this job: the stable one, or the canary's for its share of job ids (issue 11 §4).
    const policy = pin.kind === 'pinned' ? pin.snapshot : this.policies.forJob(req.job_id);
    if (policy) return this.decideWithPolicy(req, policy, deadlineAt);
    // The tier models are part of the key: an answer cached before a model change is not served after it. So is a
    // tenant's active index version (issue 12 §2): an answer retrieved from another version is not served after a swap.
    const served = this.activeVersion(req.tenant_id);
    const cacheKey = createHash('sha256')
      .update(
        `${req.system_prompt ?? ''}\u0000${req.prompt_hash}\u0000${req.options.rag}\u0000${this.modelGeneration}` +
          (served ? `\u0000index=${served.collection}` : ''),
      )
      .digest('hex');
    const cached = await this.answers.get(req.tenant_id, cacheKey);
    if (cached) {
      await this.publishCacheHit(req, cached, cacheKey, deadlineAt);
      this.decisions.inc({ route: 'cache_hit', tier: cached.tier });
      return Outcome.success();
    }
    const budget = this.config.TENANT_BUDGETS_USD.get(req.tenant_id);
    if (budget !== undefined) {
      const spentMicro = await this.spend.monthToDateMicroUsd(req.tenant_id, new Date().toISOString().slice(0, 7));
      if (spentMicro / 1e6 >= budget) {
        await this.status(req, 'failed', { code: 'budget_exceeded', message: `tenant budget of ${budget} USD for this month is spent` });
        this.decisions.inc({ route: 'refused_budget', tier: 'none' });
        return Outcome.skipped('budget exceeded');
      }
    }
    const context = req.options.rag ? await this.retrieve(req.tenant_id, req.prompt) : [];
    const { tier, reason } = chooseTier(
      { tierHint: req.options.tier_hint, promptTokens: countTokens(req.prompt), minQuality: req.budget.min_quality, maxCostUsd: req.budget.max_cost_usd },
      this.config.TIER_M_PROMPT_TOKENS,
    );
    await this.publishRouted(req, {
      tier,
      model: this.config.TIER_MODELS[tier],
      context,
      routeReason: `${req.options.rag ? 'rag' : 'direct'}:${reason}`,
      cacheKey,
      deadlineAt,
      stamp: { route: req.route, policy_version: null, decision_reasons: [reason] },
      promptTemplate: null,
    });
    this.decisions.inc({ route: req.options.rag ? 'rag' : 'direct', tier });
    return Outcome.success();
  }

  /**
   * The governed path (issue 10): binds the request to its policy route and effective SLO, classifies it on the query
   * embedding (computed once, reused for retrieval), reads the cache, decides with the pure `decide()`, reserves the
   * worst-case cost against every budget before dispatch (a refused reservation re-decides with no budget left, so the
   * degrade ladder applies), then publishes what the decision says. Every outcome carries the policy version, the route
   * and the decision's reasons.
   */
  private async decideWithPolicy(req: InferenceRequestValidated, policy: PolicySnapshot, deadlineAt: number): Promise<HandlerOutcome> {
    let resolved;
    try {
      resolved = resolveRoute(policy.document, req.tenant_id, req.route);
    } catch (err) {
      if (!(err instanceof PolicyLookupError)) throw err;
      await this.status(req, 'failed', { code: err.code, message: `${err.message} (policy version ${policy.version})` });
      // Not the requested name: a label per unknown route would let callers grow the metric without bound.
      this.policyDecisions.inc({ route: 'unknown', action: 'refuse', tier: 'none' });
      return Outcome.skipped(err.message);
    }
    const { slo } = effectiveSlo(resolved.sloClass, req.budget);
    const query = req.options.rag || policy.classifier !== null ? await this.embedQuery(req.prompt) : undefined;
    // The policy engine's own time: classification and decide(), without the embedding call, cache reads and retrieval.
    const classifyStarted = performance.now();
    const classification = classify(policy, req, query);
    const classifyMs = performance.now() - classifyStarted;
    const tierTemplates = (['S', 'M', 'L'] as const).map((t) => policy.document.tiers[t]?.prompt_template ?? '-').join(',');
    // The index version (collection of the query's embedding space) is part of both layers' keys: a re-index under a
    // new version starts fresh caches. A request pinned to a version (an eval of a candidate) gets an exact cache of its
    // own and no semantic layer, so that it is never served an answer another version decided, and never fills the live
    // traffic's caches.
    const indexVer = query ? this.servingCollection(req.tenant_id, query) : '-';
    const pinned = req.metadata?.[PINNED_POLICY_METADATA_KEY];
    const cacheKey = createHash('sha256')
      .update(
        `${req.system_prompt ?? ''}\u0000${req.prompt_hash}\u0000${req.options.rag}\u0000${this.modelGeneration}\u0000${resolved.routeName}\u0000${tierTemplates}\u0000${indexVer}` +
          (pinned === undefined ? '' : `\u0000pinned=${pinned}`),
      )
      .digest('hex');
    const exact = slo.cache_allowed ? await this.answers.get(req.tenant_id, cacheKey) : undefined;
    if (slo.cache_allowed) this.cacheLookups.inc({ layer: 'exact', result: exact ? 'hit' : 'miss' });
    const semanticSettings = semanticCacheSettings(policy.document);
    const semanticScope: SemanticScope | null =
      this.semantic && query && semanticSettings.enabled && pinned === undefined
        ? {
            tenantId: req.tenant_id,
            route: resolved.routeName,
            key: semanticScopeKey({
              route: resolved.routeName,
              systemPrompt: req.system_prompt,
              rag: req.options.rag,
              tierTemplates,
              indexVersion: indexVer,
              modelGeneration: this.modelGeneration,
            }),
          }
        : null;
    // Exact first; the semantic layer only when the exact one missed.
    const semanticHit = !exact && slo.cache_allowed && semanticScope && query ? await this.semanticLookup(semanticScope, query) : undefined;
    const cached: ExactCacheEntry | undefined = exact ?? semanticHit?.entry;
    const semanticCtx: SemanticContext = {
      exact: exact !== undefined,
      hit: semanticHit,
      scope: semanticScope,
      maxEntries: semanticSettings.maxEntriesPerScope,
      ttlSeconds: cacheTtlSeconds(policy.document, slo, classification?.intent ?? null),
      intent: classification?.intent ?? null,
      route: resolved.routeName,
      query,
      deadlineAt,
    };
    const input: DecisionInput = {
      policy: policy.document,
      policyVersion: policy.version,
      route: resolved,
      slo,
      request: this.decisionRequest(req),
      classification,
      signals: {
        cache: cached ? { layer: exact ? 'exact' : 'semantic', tier: cached.tier, quality: cached.quality ?? 0 } : null,
        budgetRemainingUsd: null,
        budgetThrottle: 'degrade',
        capacity: this.capacity?.signals() ?? {},
        safetyViolation: false,
      },
    };
    const decideStarted = performance.now();
    let decision = decide(input);
    // A re-decision after a refused reservation is not timed: it is rare, and its cost is the reservation's round trip.
    this.decisionSeconds.observe((classifyMs + performance.now() - decideStarted) / 1000);
    const { decision: governed, budgetRefusal } = await this.reserveBudget(req, resolved.routeName, input, decision, deadlineAt);
    decision = governed;
    for (const reason of decision.reasons) this.decisionReasons.inc({ reason });
    await this.semanticBookkeeping(req, decision, semanticCtx);
    this.policyDecisions.inc({ route: resolved.routeName, action: decision.action, tier: decision.tier ?? 'none' });
    this.drift?.observe('intent', classification?.intent ?? 'unclassified');
    this.drift?.observe('tier', decision.tier ?? decision.action);
    // The intent goes on the record's decision reasons (not the reason metric): reports group by it (llmgov shadow).
    const stamped = { ...decision, reasons: withIntent(decision.reasons, classification) };
    const outcome = await this.execute(req, stamped, policy, cacheKey, cached, query, deadlineAt, budgetRefusal);
    // A pinned request (an eval of a given version) is never copied: it already runs the version it asked for.
    if (pinned === undefined) await this.shadowCopy(req, query, deadlineAt);
    return outcome;
  }

  /** The request facts `decide()` takes: tokens of system prompt and prompt, max_tokens, RAG and the context it would add, the tier hint. */
  private decisionRequest(req: InferenceRequestValidated): DecisionInput['request'] {
    return {
      promptTokens: countTokens(`${req.system_prompt ?? ''}\n${req.prompt}`),
      maxTokens: req.options.max_tokens,
      ragRequested: req.options.rag,
      contextTokens: req.options.rag ? this.config.RETRIEVAL_K * this.config.CHUNK_MAX_TOKENS : 0,
      tierHint: isTier(req.options.tier_hint) ? req.options.tier_hint : null,
    };
  }

  /**
   * Shadow mode (issue 11 §4, ADR 0009): after the user's job was decided and published, a job under the open shadow's
   * share is decided again by the shadow version as job `shadow:<job id>` ({@link decideCopy}). A failure of the copy
   * is logged and counted, never raised: the user's job must not be retried or failed for its shadow.
   */
  private async shadowCopy(req: InferenceRequestValidated, stableQuery: EmbeddedQuery | undefined, deadlineAt: number): Promise<void> {
    const shadow = this.policies.shadowFor(req.job_id);
    if (!shadow) return;
    try {
      await this.decideCopy(req, stableQuery, deadlineAt, shadow.snapshot, shadowJobId(req.job_id));
    } catch (err) {
      this.shadowCopies.inc({ outcome: 'error', tier: 'none' });
      this.logger?.warn(
        { job_id: req.job_id, shadow_version: shadow.snapshot.version, error: (err as Error).message },
        'shadow copy failed; the user job is unaffected',
      );
    }
  }

  /**
   * A shadow run's copy (issue 12 §5, `llmgov shadow` / `llmgov replay --target shadow:V`): a past job's validated
   * request republished with the run's headers is decided only as a copy, job `shadow:<run id>:<job id>`, by the
   * run's policy version (loaded as a pinned version), never as the user's job: the user's job and its status, budgets
   * and caches are untouched. Routed once per copy (its own marker). A version the namespace does not have, or a run
   * id that is not one, is counted and skipped with the reason (the run reports the copy as not judged).
   * @throws RetriableError when Redis, Postgres, retrieval or Kafka is unavailable (the copy is retried, as any request).
   */
  private async routeShadowRunCopy(req: InferenceRequestValidated, run: { runId: string; version: number }): Promise<HandlerOutcome> {
    let copyId: string;
    try {
      copyId = shadowRunJobId(run.runId, req.job_id);
    } catch (err) {
      this.shadowCopies.inc({ outcome: 'invalid', tier: 'none' });
      return Outcome.skipped(`shadow run copy refused: ${(err as Error).message}`);
    }
    const marker = RedisKeys.jobRouted(copyId);
    if (await this.markers.isDone(marker)) return Outcome.skipped('already routed (redelivered)');
    const pin = (await this.pinned?.lookup({ [PINNED_POLICY_METADATA_KEY]: String(run.version) })) ?? { kind: 'none' as const };
    if (pin.kind !== 'pinned') {
      this.shadowCopies.inc({ outcome: 'no_version', tier: 'none' });
      this.logger?.warn({ job_id: copyId, version: run.version }, 'shadow run copy skipped: its policy version cannot be loaded');
      await this.markers.markDone(marker, 'skipped', ROUTED_MARKER_TTL_S);
      return Outcome.skipped(pin.kind === 'invalid' ? pin.reason : 'policies are disabled on this router');
    }
    await this.decideCopy(req, undefined, req.occurred_at + req.budget.latency_ms, pin.snapshot, copyId);
    await this.markers.markDone(marker, 'success', ROUTED_MARKER_TTL_S);
    return Outcome.success();
  }

  /**
   * Decides a copy of a request with `policy` and, when it infers, publishes it to the tier's routed topic as job
   * `copyJobId` with `shadow: true`, team `shadow` and the version's policy_version. The copy is decided without the
   * caches (what is compared is the version's own answer, and a cached answer would make both sides equal) and
   * without a budget reservation (the copy's spend is the platform's, billed to team `shadow`); it sets no job status
   * and no cache bookkeeping, and the capacity gate sheds it first (`shedsShadowCopy`). Counted in
   * `router_shadow_copies_total{outcome}`.
   * @throws whatever the embedding, retrieval or publish throws (RetriableError when a dependency is down).
   */
  private async decideCopy(
    req: InferenceRequestValidated,
    stableQuery: EmbeddedQuery | undefined,
    deadlineAt: number,
    policy: PolicySnapshot,
    copyJobId: string,
  ): Promise<void> {
    let resolved;
    try {
      resolved = resolveRoute(policy.document, req.tenant_id, req.route);
    } catch (err) {
      if (!(err instanceof PolicyLookupError)) throw err;
      this.shadowCopies.inc({ outcome: 'no_route', tier: 'none' });
      return;
    }
    const { slo } = effectiveSlo(resolved.sloClass, req.budget);
    const query = stableQuery ?? (req.options.rag || policy.classifier !== null ? await this.embedQuery(req.prompt) : undefined);
    const classification = classify(policy, req, query);
    const capacity = this.capacity?.signals() ?? {};
    const decision = decide({
      policy: policy.document,
      policyVersion: policy.version,
      route: resolved,
      slo,
      request: this.decisionRequest(req),
      classification,
      signals: { cache: null, budgetRemainingUsd: null, budgetThrottle: 'degrade', capacity, safetyViolation: false },
    });
    const stamp = { route: decision.route, policy_version: decision.policyVersion, decision_reasons: withIntent(decision.reasons, classification) };
    // A shadow run (llmgov shadow) waits for every copy's outcome: a copy that is not inferred ends with a job status of
    // its own id (the status writer never stores a shadow id), which the run reports. A live shadow copy just stops.
    const ended = async (ev: JobStatusChanged) => {
      if (shadowRunOf(copyJobId)) await this.publisher.publish(Topics.jobStatus, { value: ev });
    };
    if (decision.action !== 'infer' || decision.tier === null) {
      this.shadowCopies.inc({ outcome: 'not_infer', tier: 'none' });
      await ended(
        decision.action === 'serve_template'
          ? templateStatus(req, copyJobId, decision, policy, stamp)
          : copyFailed(
              req,
              copyJobId,
              decision.refusal ?? decision.action,
              `not inferred by policy version ${decision.policyVersion}: ${decision.reasons.join(', ')}`,
            ),
      );
      return;
    }
    const tier = decision.tier;
    if (shedsShadowCopy(capacity[tier], slo.p95_latency_ms)) {
      this.shadowCopies.inc({ outcome: 'shed_capacity', tier });
      await ended(copyFailed(req, copyJobId, 'shed_capacity', `tier ${tier} queues past half the SLO p95: the copy was shed`));
      return;
    }
    // The cache key is never filled (the judge does not cache a shadow answer); distinct all the same.
    await this.dispatch(req, decision, policy, query, { cacheKey: copyJobId, deadlineAt, stamp, shadowJobId: copyJobId });
    this.shadowCopies.inc({ outcome: 'published', tier });
  }

  /**
   * Reserves the worst-case cost of an `infer` decision against every budget of the request (ADR 0007) before it is
   * dispatched. A refusal re-decides with what the budgets say: `signals.budgetThrottle` is the refusing budgets' mode
   * (refuse when any says refuse) and `signals.budgetRemainingUsd` the least they have left, so a degrade budget can
   * still be served by a lower tier or a smaller context that fits (reserved in turn); a refuse budget, or a second
   * refusal, re-decides with nothing left (cache, template or budget_exceeded). At most MAX_RESERVE_ATTEMPTS
   * reservations; if the last is refused and the decision still infers, the job is refused with budget_exceeded.
   * @returns the decision to execute, and the last refusal's message (it names each budget), if any.
   * @throws RetriableError when Redis is unreachable.
   */
  private async reserveBudget(
    req: InferenceRequestValidated,
    route: string,
    input: DecisionInput,
    first: Decision,
    deadlineAt: number,
  ): Promise<{ decision: Decision; budgetRefusal: string | null }> {
    let decision = first;
    let budgetRefusal: string | null = null;
    for (let attempt = 1; decision.action === 'infer' && Number.isFinite(decision.projectedCostUsd); attempt++) {
      const reserved = await this.reservations.reserve({
        reservationId: jobReservationId(req.job_id, 1),
        tenant: req.tenant_id,
        team: req.team,
        route,
        amountMicroUsd: Math.ceil(decision.projectedCostUsd * 1e6),
        // Held until the job's deadline plus a minute; the cost-attributor settles it when the completion is billed.
        leaseMs: Math.max(1, Math.min(24 * 3600_000, deadlineAt - Date.now() + 60_000)),
        jobId: req.job_id,
      });
      if (reserved.ok || reserved.status !== 'refused') break;
      budgetRefusal = reserved.message;
      if (attempt === MAX_RESERVE_ATTEMPTS) {
        decision = {
          ...decision,
          action: 'refuse',
          tier: null,
          rag: false,
          contextTokenBudget: null,
          projectedCostUsd: 0,
          refusal: 'budget_exceeded',
          reasons: [...decision.reasons, 'budget_reservation_refused→refuse'],
        };
        break;
      }
      const remainingUsd = attempt === 1 && reserved.throttle === 'degrade' ? reserved.remainingMicroUsd / 1e6 : 0;
      const again = decide({ ...input, signals: { ...input.signals, budgetRemainingUsd: remainingUsd, budgetThrottle: reserved.throttle } });
      decision = { ...again, reasons: [...decision.reasons, `budget_reservation_refused_${reserved.throttle}→redecide`, ...again.reasons] };
    }
    return { decision, budgetRefusal };
  }

  private async execute(
    req: InferenceRequestValidated,
    d: Decision,
    policy: PolicySnapshot,
    cacheKey: string,
    cached: ExactCacheEntry | undefined,
    query: { vector: number[]; model: string; modelVersion: string; dimensions: number } | undefined,
    deadlineAt: number,
    budgetRefusal: string | null = null,
  ): Promise<HandlerOutcome> {
    const stamp = { route: d.route, policy_version: d.policyVersion, decision_reasons: d.reasons };
    switch (d.action) {
      case 'refuse':
        await this.status(req, 'failed', {
          code: d.refusal ?? 'refused',
          message: `refused by policy version ${d.policyVersion}: ${d.reasons.join(', ')}${budgetRefusal && d.refusal === 'budget_exceeded' ? `; ${budgetRefusal}` : ''}`,
        });
        return Outcome.skipped('refused by policy');
      case 'serve_template':
        await this.publisher.publish(Topics.jobStatus, { value: templateStatus(req, req.job_id, d, policy, stamp) });
        return Outcome.success();
      case 'serve_cache':
        await this.publishCacheHit(req, cached!, cacheKey, deadlineAt, stamp);
        return Outcome.success();
      case 'infer':
        await this.dispatch(req, d, policy, query, { cacheKey, deadlineAt, stamp });
        return Outcome.success();
    }
  }

  /**
   * Sends an `infer` decision to its tier: retrieves the context when the decision uses RAG (shrunk to its token
   * budget), then publishes the routed record with the version's model and prompt template for the tier.
   * @throws RetriableError when retrieval or Kafka is unavailable.
   */
  private async dispatch(
    req: InferenceRequestValidated,
    d: Decision,
    policy: PolicySnapshot,
    query: EmbeddedQuery | undefined,
    r: { cacheKey: string; deadlineAt: number; stamp: Stamp; shadowJobId?: string },
  ): Promise<void> {
    const tier = d.tier!;
    let context = d.rag && query ? await this.search(req.tenant_id, req.prompt, query) : [];
    if (d.contextTokenBudget !== null) context = shrinkContext(context, d.contextTokenBudget);
    await this.publishRouted(req, {
      tier,
      model: policy.document.tiers[tier]?.model ?? this.config.TIER_MODELS[tier],
      context,
      routeReason: `${d.rag ? 'rag' : 'direct'}:${d.route}`,
      cacheKey: r.cacheKey,
      deadlineAt: r.deadlineAt,
      stamp: r.stamp,
      promptTemplate: policy.document.tiers[tier]?.prompt_template ?? null,
      shadowJobId: r.shadowJobId,
    });
  }

  /**
   * Publishes attempt 1 of the request to its tier's routed topic (deterministic event id, so a redelivery republishes
   * the same record), then marks the job in_progress.
   * @throws RetriableError when Kafka is unavailable.
   */
  private async publishRouted(
    req: InferenceRequestValidated,
    r: {
      tier: Tier;
      model: string;
      context: ContextChunk[];
      routeReason: string;
      cacheKey: string;
      deadlineAt: number;
      stamp: { route: string | null; policy_version: number | null; decision_reasons: string[] };
      /** The deciding policy version's template for the tier (`name@version`); null on the path without a policy. */
      promptTemplate: string | null;
      /** A shadow copy's job id (`shadow:<job id>`, or a run's `shadow:<run id>:<job id>`): team `shadow`, and no job status. */
      shadowJobId?: string;
    },
  ): Promise<void> {
    const shadow = r.shadowJobId !== undefined;
    const jobId = r.shadowJobId ?? req.job_id;
    const routed: InferenceRequestRouted = {
      ...newEnvelope(req.tenant_id, jobId),
      event_id: deterministicEventId(jobId, '1', 'routed'),
      job_id: jobId,
      tier: r.tier,
      model: r.model,
      prompt: req.prompt,
      system_prompt: req.system_prompt,
      context: r.context,
      max_tokens: req.options.max_tokens,
      temperature: req.options.temperature,
      deadline_at: r.deadlineAt,
      attempt: 1,
      route_reason: r.routeReason,
      cache_key: r.cacheKey,
      budget: req.budget,
      team: shadow ? SHADOW_TEAM : req.team,
      feature: req.feature,
      ...r.stamp,
      shadow,
      prompt_template: r.promptTemplate,
    };
    await this.publisher.publish(routedTopicForTier(r.tier), { value: routed });
    if (!shadow) await this.status(req, 'in_progress', null);
  }

  /** The prompt's query embedding, once per request (classification and retrieval share it). @throws RetriableError */
  private async embedQuery(prompt: string): Promise<{ vector: number[]; model: string; modelVersion: string; dimensions: number }> {
    try {
      const { vectors, model, modelVersion, dimensions } = await this.embeddings.embed([prompt]);
      return { vector: Array.from(vectors[0]!), model, modelVersion, dimensions };
    } catch (err) {
      throw new RetriableError(`query embedding failed: ${(err as Error).message}`, 'retrieval_unavailable', { cause: err });
    }
  }

  /** Top-k chunks of the tenant for an embedded query. @throws RetriableError when the search fails. */
  private async search(
    tenantId: string,
    prompt: string,
    query: { vector: number[]; model: string; modelVersion: string; dimensions: number },
  ): Promise<ContextChunk[]> {
    try {
      const collection = this.servingCollection(tenantId, query);
      const version = this.activeVersion(tenantId);
      // A tenant re-indexed into another model's space is searched with a query vector of that model.
      const dense =
        version && (version.model !== query.model || version.modelVersion !== query.modelVersion || version.dimensions !== query.dimensions)
          ? (await this.indexVersions!.clientFor(version).embed([prompt])).vectors[0]!
          : query.vector;
      // Both lexical forms go along: Qdrant searches the sparse vector, LanceDB its own full-text index of `text`.
      const hits = await this.store.search(collection, {
        tenantId,
        dense,
        sparse: this.sparse.encodeQuery(prompt),
        text: prompt,
        k: this.config.RETRIEVAL_K,
        mode: this.retrievalMode(),
      });
      return hits.map((h) => ({ chunk_id: h.chunkId, document_id: h.documentId, text: h.text, score: h.score }));
    } catch (err) {
      throw new RetriableError(`retrieval failed: ${(err as Error).message}`, 'retrieval_unavailable', { cause: err });
    }
  }

  /**
   * Top-k chunks of the tenant for the prompt, from the collection of the query vector's embedding space
   * (`indexVersion` of the model that embedded the prompt, as the indexer names it; or the pinned
   * `VECTOR_COLLECTION_VERSION`), so the query is never compared with another model's vectors.
   * @throws RetriableError when embedding or search fails (also when no chunk of this model was ever indexed).
   */
  private async retrieve(tenantId: string, prompt: string): Promise<ContextChunk[]> {
    return this.search(tenantId, prompt, await this.embedQuery(prompt));
  }

  private retrievalMode(): 'hybrid' | 'dense' | 'sparse' {
    if (this.config.RETRIEVAL_MODE !== 'auto') return this.config.RETRIEVAL_MODE;
    return this.config.EMBEDDINGS === 'local' ? 'sparse' : 'hybrid';
  }

  private async publishCacheHit(
    req: InferenceRequestValidated,
    cached: ExactCacheEntry,
    cacheKey: string,
    deadlineAt: number,
    stamp: { route: string | null; policy_version: number | null; decision_reasons: string[] } = {
      route: req.route,
      policy_version: null,
      decision_reasons: ['exact_cache_hit'],
    },
  ): Promise<void> {
    const completed: InferenceCompleted = {
      ...newEnvelope(req.tenant_id, req.job_id),
      // The id of the job's attempt-1 completion, as the worker would give it: one answer per attempt, whoever serves it.
      event_id: deterministicEventId(req.job_id, '1', 'completed'),
      job_id: req.job_id,
      tier: cached.tier,
      model: cached.model,
      endpoint: null,
      text: cached.text,
      finish_reason: cached.finish_reason,
      from_cache: true,
      usage: { prompt_tokens: 0, completion_tokens: 0 },
      timings: { queue_ms: 0, ttft_ms: 0, tpot_ms: 0, e2e_ms: 0 },
      context: cached.context,
      prompt: req.prompt,
      team: req.team,
      feature: req.feature,
      cache_key: cacheKey,
      system_prompt: req.system_prompt,
      attempt: 1,
      max_tokens: req.options.max_tokens,
      temperature: req.options.temperature,
      deadline_at: deadlineAt,
      budget: req.budget,
      ...stamp,
      shadow: false,
    };
    await this.publisher.publish(Topics.inferenceCompleted, { value: completed });
    await this.status(req, 'in_progress', null);
  }

  private async status(req: InferenceRequestValidated, state: JobState, error: JobError | null): Promise<void> {
    const ev: JobStatusChanged = {
      ...newEnvelope(req.tenant_id, req.job_id),
      event_id: deterministicEventId(req.job_id, 'router', state),
      job_id: req.job_id,
      state,
      stage: 'router',
      result: null,
      error,
    };
    await this.publisher.publish(Topics.jobStatus, { value: ev });
  }

  /**
   * After the decision: a served semantic hit is recorded (`semcache:hit:<job id>`: entry, source prompt, similarity,
   * threshold); an inference leaves the judge its fill instructions (`semcache:pending:<job id>`, until the deadline
   * plus an hour): the TTL of both layers (intent over SLO class; 0 caches nothing) and, for the semantic layer, the
   * scope and the query vector. Nothing without the semantic layer.
   * @throws RetriableError when Redis cannot be reached.
   */
  private async semanticBookkeeping(req: InferenceRequestValidated, decision: Decision, c: SemanticContext): Promise<void> {
    if (!this.semantic) return;
    if (decision.action === 'serve_cache' && !c.exact && c.hit?.entry) {
      const e: SemanticCacheEntry = c.hit.entry;
      await this.semantic.records.recordHit(req.job_id, {
        entry_id: e.id,
        source_prompt: e.source_prompt,
        similarity: c.hit.similarity ?? 0,
        threshold: c.hit.threshold,
        route: c.route,
      });
    }
    if (decision.action === 'infer') {
      await this.semantic.records.setPending(
        req.job_id,
        {
          tenant_id: req.tenant_id,
          route: c.route,
          scope: c.scope?.key ?? null,
          ttl_s: c.ttlSeconds,
          max_entries: c.maxEntries,
          intent: c.intent,
          vector_b64: c.scope && c.query ? vectorToBase64(c.query.vector) : null,
        },
        Math.max(60, (c.deadlineAt - Date.now()) / 1000 + 3600),
      );
    }
  }

  /**
   * Nearest semantic-cache entry of the scope for the query vector, with metrics (lookup result, best similarity,
   * threshold in use, lookup time). The threshold is the tenant and route's calibrated one when it was measured in the
   * query's embedding space, else the policy's default.
   * @throws RetriableError when Redis cannot be reached.
   */
  private async semanticLookup(
    scope: SemanticScope,
    query: { vector: number[]; model: string; modelVersion: string; dimensions: number },
  ): Promise<SemanticLookup> {
    const policy = this.policies.current()!;
    const t0 = performance.now();
    const r = await this.semantic!.store.lookup(scope, query.vector, {
      defaultThreshold: semanticCacheSettings(policy.document).defaultThreshold,
      embeddingSpace: indexVersion({ model: query.model, modelVersion: query.modelVersion, dimensions: query.dimensions }),
    });
    this.semanticLookupSeconds.observe((performance.now() - t0) / 1000);
    this.cacheLookups.inc({ layer: 'semantic', result: r.entry ? 'hit' : 'miss' });
    if (r.similarity !== null) this.semanticSimilarity.observe(r.similarity);
    this.semanticThreshold.set({ tenant: scope.tenantId, route: scope.route, source: r.thresholdSource }, r.threshold);
    return r;
  }

  /** The tenant's active index version (`llmgov reindex`), unless a collection is pinned. */
  private activeVersion(tenantId: string) {
    return this.config.VECTOR_COLLECTION_VERSION === undefined ? this.indexVersions?.get(tenantId) : undefined;
  }

  /**
   * The collection the tenant is served from: its active index version's, else the shared collection of the query's
   * embedding space (or the pinned one). Part of both cache layers' keys, so a swap starts fresh caches.
   */
  private servingCollection(tenantId: string, query: { model: string; modelVersion: string; dimensions: number }): string {
    return this.activeVersion(tenantId)?.collection ?? this.collectionOf(query);
  }

  /** The collection (index version) of a query vector's embedding space, as the indexer names it, or the pinned one. */
  private collectionOf(query: { model: string; modelVersion: string; dimensions: number }): string {
    return this.config.VECTOR_COLLECTION_VERSION ?? indexVersion({ model: query.model, modelVersion: query.modelVersion, dimensions: query.dimensions });
  }
}

/**
 * Whether the capacity gate drops a shadow copy before any user job would be (ADR 0009): a copy is shed when its tier
 * has a queue and the expected wait plus service there exceeds half the route's SLO p95 (ms). A user job is rerouted or
 * degraded only once the wait alone exceeds the whole p95 (`decide`, libs/policy), so copies stop adding load well
 * before users feel it. The factor ½ is our own choice (not from a source): it leaves the users half of the budget.
 */
export function shedsShadowCopy(signal: { queueWaitMs: number; serviceMs: number } | undefined, sloP95Ms: number): boolean {
  if (!signal || signal.queueWaitMs <= 0) return false;
  return signal.queueWaitMs + signal.serviceMs > sloP95Ms / 2;
}

/** A prompt's query embedding with the model that made it. */
type EmbeddedQuery = { vector: number[]; model: string; modelVersion: string; dimensions: number };

const isTier = (t: string | null): t is PolicyTier => t === 'S' || t === 'M' || t === 'L';

/** What the governed path knows about the cache layers of one request, for the bookkeeping after its decision. */
interface SemanticContext {
  /** Whether the exact layer had the answer. */
  exact: boolean;
  hit: SemanticLookup | undefined;
  scope: SemanticScope | null;
  maxEntries: number;
  ttlSeconds: number;
  intent: string | null;
  route: string;
  query: { vector: number[] } | undefined;
  deadlineAt: number;
}

/** The leading chunks (in retrieval order) that fit a token budget; at least nothing, never a cut chunk. */
export function shrinkContext(chunks: ContextChunk[], maxTokens: number): ContextChunk[] {
  const kept: ContextChunk[] = [];
  let used = 0;
  for (const c of chunks) {
    const n = countTokens(c.text);
    if (used + n > maxTokens) break;
    kept.push(c);
    used += n;
  }
  return kept;
}
