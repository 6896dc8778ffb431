import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { EventPublisher, Outcome, deterministicEventId, newEnvelope, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { RetriableError } from '@llmgov/errors';
import { PlatformMetrics } from '@llmgov/observability';
import {
  AnswerCacheRepository,
  BudgetSpendRepository,
  EffectMarkersRepository,
  JobFlagsRepository,
  RedisKeys,
  type ExactCacheEntry,
} from '@llmgov/persistence';
import { Bm25SparseEncoder, countTokens, type EmbeddingsClient } from '@llmgov/embeddings';
import { indexVersion, type VectorStore } from '@llmgov/vector-store';
import {
  Topics,
  routedTopicForTier,
  type ContextChunk,
  type InferenceCompleted,
  type InferenceRequestRouted,
  type InferenceRequestValidated,
  type JobError,
  type JobState,
  type JobStatusChanged,
} from '@llmgov/contracts';
import { ROUTER_CONFIG, type RouterConfig } from '../config.js';
import { chooseTier } from './tier-policy.js';

export const VECTOR_STORE = Symbol('VECTOR_STORE');
export const EMBEDDINGS_CLIENT = Symbol('EMBEDDINGS_CLIENT');
/** The routed marker outlives any redelivery: 7 days, seconds. */
const ROUTED_MARKER_TTL_S = 7 * 24 * 3600;

/**
 * The routing policy: cancellation and deadline guards, exact cache, budget check, retrieval (RAG),
 * tier choice, then publish to the tier's routed topic and mark the job in_progress.
 */
@Injectable()
export class RoutingService {
  private readonly decisions: Counter<'route' | 'tier'>;
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
    metrics: PlatformMetrics,
  ) {
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
  async route(req: InferenceRequestValidated): Promise<HandlerOutcome> {
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
    // The tier models are part of the key: an answer cached before a model change is not served after it.
    const cacheKey = createHash('sha256')
      .update(`${req.system_prompt ?? ''}\u0000${req.prompt_hash}\u0000${req.options.rag}\u0000${this.modelGeneration}`)
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
    const routed: InferenceRequestRouted = {
      ...newEnvelope(req.tenant_id, req.job_id),
      event_id: deterministicEventId(req.job_id, '1', 'routed'),
      job_id: req.job_id,
      tier,
      model: this.config.TIER_MODELS[tier],
      prompt: req.prompt,
      system_prompt: req.system_prompt,
      context,
      max_tokens: req.options.max_tokens,
      temperature: req.options.temperature,
      deadline_at: deadlineAt,
      attempt: 1,
      route_reason: `${req.options.rag ? 'rag' : 'direct'}:${reason}`,
      cache_key: cacheKey,
      budget: req.budget,
      team: req.team,
      feature: req.feature,
      route: req.route,
      policy_version: null,
      decision_reasons: [reason],
    };
    await this.publisher.publish(routedTopicForTier(tier), { value: routed });
    await this.status(req, 'in_progress', null);
    this.decisions.inc({ route: req.options.rag ? 'rag' : 'direct', tier });
    return Outcome.success();
  }

  /**
   * Top-k chunks of the tenant for the prompt, from the collection of the query vector's embedding space
   * (`indexVersion` of the model that embedded the prompt, as the indexer names it; or the pinned
   * `VECTOR_COLLECTION_VERSION`), so the query is never compared with another model's vectors.
   * @throws RetriableError when embedding or search fails (also when no chunk of this model was ever indexed).
   */
  private async retrieve(tenantId: string, prompt: string): Promise<ContextChunk[]> {
    try {
      const { vectors, model, modelVersion, dimensions } = await this.embeddings.embed([prompt]);
      const collection = this.config.VECTOR_COLLECTION_VERSION ?? indexVersion({ model, modelVersion, dimensions });
      // Both lexical forms go along: Qdrant searches the sparse vector, LanceDB its own full-text index of `text`.
      const hits = await this.store.search(collection, {
        tenantId,
        dense: vectors[0]!,
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

  private retrievalMode(): 'hybrid' | 'dense' | 'sparse' {
    if (this.config.RETRIEVAL_MODE !== 'auto') return this.config.RETRIEVAL_MODE;
    return this.config.EMBEDDINGS === 'local' ? 'sparse' : 'hybrid';
  }

  private async publishCacheHit(req: InferenceRequestValidated, cached: ExactCacheEntry, cacheKey: string, deadlineAt: number): Promise<void> {
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
      route: req.route,
      policy_version: null,
      decision_reasons: ['exact_cache_hit'],
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
}
