import { Inject, Injectable } from '@nestjs/common';
import { Histogram } from 'prom-client';
import {
  EventPublisher,
  Outcome,
  PLATFORM_CONFIG,
  RetriableError,
  deterministicEventId,
  newEnvelope,
  type HandlerOutcome,
  type RecordContext,
} from '@llmgov/kafka-runtime';
import type { PlatformConfig } from '@llmgov/config';
import { LOGGER, PlatformMetrics, type Logger } from '@llmgov/observability';
import { REDIS, RedisKeys, type Redis } from '@llmgov/persistence';
import { ChatCompletionsClient, LlmEndpointError } from '@llmgov/llm-clients';
import { Topics, type InferenceCompleted, type InferenceRequestRouted, type JobError, type JobState, type JobStatusChanged, type Tier, type UsageRecorded } from '@llmgov/contracts';
import { WORKER_CONFIG, type WorkerConfig } from '../config.js';
import { EndpointPool } from './endpoint-pool.js';
import { buildMessages } from './prompt-builder.js';

const DONE_TTL_S = 7 * 24 * 3600;

/**
 * Runs routed requests on the tier's vLLM pool: bounded in-flight work per endpoint, deadline from the job's
 * latency budget, streaming with TTFT/TPOT measurement, and an idempotent completion (one completion and one
 * usage event per job attempt, with deterministic event ids).
 */
@Injectable()
export class InferenceService {
  private readonly pools: Record<Tier, EndpointPool>;
  private readonly client = new ChatCompletionsClient();
  private readonly ttft: Histogram<'tier'>;
  private readonly e2e: Histogram<'tier'>;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(PLATFORM_CONFIG) private readonly platform: PlatformConfig,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly publisher: EventPublisher,
    metrics: PlatformMetrics,
  ) {
    const max = config.MAX_INFLIGHT_PER_ENDPOINT;
    this.pools = { S: new EndpointPool(config.VLLM_POOLS.S, max), M: new EndpointPool(config.VLLM_POOLS.M, max), L: new EndpointPool(config.VLLM_POOLS.L, max) };
    const buckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    this.ttft = new Histogram({ name: 'inference_ttft_seconds', help: 'Time to first token, seconds', labelNames: ['tier'], buckets, registers: [metrics.registry] });
    this.e2e = new Histogram({ name: 'inference_e2e_seconds', help: 'Request send to last token, seconds', labelNames: ['tier'], buckets, registers: [metrics.registry] });
  }

  async infer(req: InferenceRequestRouted, ctx: RecordContext): Promise<HandlerOutcome> {
    const doneKey = `completion:${req.job_id}:${req.attempt}`;
    if (await this.redis.exists(doneKey)) return Outcome.skipped('completion already published for this attempt');
    if (await this.redis.exists(RedisKeys.jobCancel(req.job_id))) {
      await this.status(req, 'cancelled', { code: 'cancelled', message: 'cancelled by the submitter' });
      return Outcome.skipped('job cancelled');
    }
    if (Date.now() >= req.deadline_at) {
      await this.status(req, 'failed', { code: 'deadline_exceeded', message: 'the latency budget ran out before inference started' });
      return Outcome.skipped('deadline passed');
    }
    const pool = this.pools[req.tier];
    const queuedAt = Date.now();
    const endpoint = await pool.acquire();
    let result;
    try {
      result = await this.client.complete({
        endpoint,
        model: req.model,
        messages: buildMessages(req.system_prompt ?? this.config.DEFAULT_SYSTEM_PROMPT, req.prompt, req.context),
        max_tokens: req.max_tokens,
        temperature: req.temperature,
        deadlineMs: req.deadline_at,
      });
    } catch (err) {
      const lastAttempt = ctx.attempt >= this.platform.KAFKA_HANDLER_MAX_ATTEMPTS;
      const retriable = err instanceof LlmEndpointError && err.retriable && Date.now() < req.deadline_at;
      if (!retriable || lastAttempt) {
        const code = err instanceof LlmEndpointError ? `engine_${err.source}` : 'inference_error';
        await this.status(req, 'failed', { code, message: `inference failed after ${ctx.attempt} attempt(s): ${(err as Error).message}` });
      }
      if (retriable) throw new RetriableError(`endpoint ${endpoint}: ${(err as Error).message}`, 'engine_unavailable', { cause: err });
      throw err;
    } finally {
      pool.release(endpoint);
    }
    const queueMs = Math.max(0, queuedAt - req.occurred_at);
    this.ttft.observe({ tier: req.tier }, result.timings.ttft_ms / 1000);
    this.e2e.observe({ tier: req.tier }, result.timings.e2e_ms / 1000);
    const completed: InferenceCompleted = {
      ...newEnvelope(req.tenant_id, req.job_id),
      event_id: deterministicEventId(req.job_id, String(req.attempt), 'completed'),
      job_id: req.job_id,
      tier: req.tier,
      model: req.model,
      endpoint,
      text: result.text,
      finish_reason: result.finish_reason,
      from_cache: false,
      usage: result.usage,
      timings: { queue_ms: queueMs, ...result.timings },
      context: req.context,
      prompt: req.prompt,
      team: req.team,
      feature: req.feature,
      cache_key: req.cache_key,
      system_prompt: req.system_prompt,
      attempt: req.attempt,
      max_tokens: req.max_tokens,
      temperature: req.temperature,
      deadline_at: req.deadline_at,
      budget: req.budget,
    };
    const usage: UsageRecorded = {
      ...newEnvelope(req.tenant_id, req.job_id),
      event_id: deterministicEventId(req.job_id, String(req.attempt), 'usage'),
      job_id: req.job_id,
      kind: 'COMPLETION',
      model: req.model,
      tier: req.tier,
      pool: `tier-${req.tier}`,
      endpoint,
      prompt_tokens: result.usage.prompt_tokens,
      completion_tokens: result.usage.completion_tokens,
      // Estimate: a running sequence holds 1/max_num_seqs of the GPU for its end-to-end time.
      gpu_seconds: result.timings.e2e_ms / 1000 / this.config.ENGINE_MAX_NUM_SEQS,
      team: req.team,
      feature: req.feature,
      route: req.route_reason,
      e2e_ms: result.timings.e2e_ms,
    };
    await this.publisher.publish(Topics.inferenceCompleted, { key: req.job_id, value: completed });
    await this.publisher.publish(Topics.usageRecorded, { key: req.job_id, value: usage });
    await this.redis.set(doneKey, '1', 'EX', DONE_TTL_S);
    this.logger.debug({ job_id: req.job_id, endpoint, e2e_ms: result.timings.e2e_ms }, 'inference completed');
    return Outcome.success();
  }

  private async status(req: InferenceRequestRouted, state: JobState, error: JobError): Promise<void> {
    const ev: JobStatusChanged = { ...newEnvelope(req.tenant_id, req.job_id), job_id: req.job_id, state, stage: 'inference', result: null, error };
    await this.publisher.publish(Topics.jobStatus, { key: req.job_id, value: ev });
  }
}
