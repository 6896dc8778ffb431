import { Inject, Injectable, Optional } from '@nestjs/common';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { EventPublisher, Outcome, deterministicEventId, newEnvelope, type HandlerOutcome, type RecordContext } from '@llmgov/kafka-runtime';
import { NonRetriableError, type NonRetriableCode } from '@llmgov/errors';
import { LOGGER, type Logger } from '@llmgov/observability';
import { EffectMarkersRepository, JobFlagsRepository, RedisKeys } from '@llmgov/persistence';
import { ChatCompletionsClient, LlmEndpointError, type CompletionResult } from '@llmgov/llm-clients';
import {
  Topics,
  type InferenceCompleted,
  type InferenceRequestRouted,
  type JobError,
  type JobState,
  type JobStatusChanged,
  type UsageRecorded,
} from '@llmgov/contracts';
import { WORKER_CONFIG, type WorkerConfig } from '../config.js';
import type { EndpointConfig } from '../pools/pool-config.js';
import type { CallOutcome, EndpointLease } from './endpoint-pool.js';
import { PoolRegistry } from './pool-registry.js';
import { WorkerMetrics } from './worker-metrics.js';
import { ServiceRateTracker } from './service-rate.js';
import { renderPrompt, templateId } from '../pools/prompt-template.js';
import { JobLeases, type JobLease } from '../adapters/job-lease.js';

const DONE_TTL_S = 7 * 24 * 3600;
/** Lease of a running job attempt (renewed every third of it); a crashed holder's work is taken over after this, ms. */
const LEASE_TTL_MS = 10_000;
/** How often a redelivered record checks on a job attempt another instance is running, ms. */
const LEASE_POLL_MS = 100;

/** Where a failed call's error came from: the engine side (engine, network, timeout, rate_limit, client) or ours. */
export type ErrorSource = LlmEndpointError['source'] | 'own';

/** Breaker outcome of a failed call: endpoint faults count against the endpoint; refusals of our request do not. */
export function callOutcome(err: unknown): CallOutcome {
  if (!(err instanceof LlmEndpointError)) return 'neutral';
  return err.source === 'engine' || err.source === 'network' || err.source === 'timeout' ? 'failure' : 'neutral';
}

/** A job attempt that could not be served: no endpoint slot before the deadline. */
class NoEndpointError extends Error {
  override readonly name = 'NoEndpointError';
}

/**
 * Runs one routed request on its tier's pool and publishes the outcome once per job attempt.
 *
 * Calls stream (TTFT, TPOT, e2e measured) with the job's deadline. Timeouts, connection errors, 5xx/503 and 429 are
 * retried with jittered exponential backoff (cockatiel), at most `INFERENCE_MAX_ATTEMPTS` calls, each retry on another
 * endpoint when one can take it. When the calls are exhausted the job is failed with the reason (`jobs.job.status.v1`
 * `failed`, code `engine_<source>`) and a NonRetriableError sends the record to the DLQ, so no job stays in progress.
 *
 * Idempotency: a Redis marker `completion:<job>:<attempt>` is set once the attempt finished (completion and usage
 * events acked, or the job failed) and checked first; a lease `inference:lease:<job>:<attempt>` held while the call
 * runs makes a record redelivered by a rebalance wait for the instance still running it instead of calling twice.
 * Event ids are deterministic (UUIDv5 of job, attempt, kind) for consumers to dedupe on.
 */
@Injectable()
export class InferenceService {
  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly client: ChatCompletionsClient,
    private readonly markers: EffectMarkersRepository,
    private readonly jobFlags: JobFlagsRepository,
    private readonly leases: JobLeases,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly publisher: EventPublisher,
    private readonly pools: PoolRegistry,
    private readonly metrics: WorkerMetrics,
    /** Counts completions for the capacity gate's service rate (CapacityPublisher); optional for tests that build the service by hand. */
    @Optional() private readonly serviceRate: ServiceRateTracker = new ServiceRateTracker(),
  ) {}

  async infer(req: InferenceRequestRouted, ctx: RecordContext): Promise<HandlerOutcome> {
    const doneKey = RedisKeys.completionDone(req.job_id, req.attempt);
    if (await this.markers.isDone(doneKey)) return Outcome.skipped('this job attempt already finished');
    if (await this.jobFlags.isCancelled(req.job_id)) {
      await this.status(req, 'cancelled', { code: 'cancelled', message: 'cancelled by the submitter' });
      return Outcome.skipped('job cancelled');
    }
    if (Date.now() >= req.deadline_at) {
      await this.fail(req, 'deadline_exceeded', 'the latency budget ran out before inference started');
      return Outcome.skipped('deadline passed');
    }
    const lease = await this.takeLease(req, doneKey);
    if (!lease) return Outcome.skipped('another instance finished this job attempt');
    try {
      return await this.run(req, ctx, doneKey);
    } finally {
      await lease
        .release()
        .catch((err: unknown) => this.logger.warn({ job_id: req.job_id, error: (err as Error).message }, 'lease release failed; it expires'));
    }
  }

  /**
   * Takes the job attempt's lease, waiting while another instance holds it (after a rebalance, the record's call may
   * still run on the partition's previous owner). Resolves undefined when the attempt finished meanwhile.
   */
  private async takeLease(req: InferenceRequestRouted, doneKey: string): Promise<JobLease | undefined> {
    const key = RedisKeys.inferenceLease(req.job_id, req.attempt);
    for (;;) {
      const lease = await this.leases.acquire(key, LEASE_TTL_MS);
      // Checked after taking the lease: the previous holder may have finished just before it let go.
      const done = await this.markers.isDone(doneKey);
      if (lease && !done) return lease;
      await lease?.release();
      if (done) return undefined;
      // Another process holds it; Redis offers no cheap notification here, so poll until it finishes or its lease lapses.
      await new Promise((r) => setTimeout(r, LEASE_POLL_MS));
    }
  }

  private async run(req: InferenceRequestRouted, ctx: RecordContext, doneKey: string): Promise<HandlerOutcome> {
    const pool = this.pools.pool(req.tier);
    // The deciding policy version's template when this worker has it for the pool's api, else the pool's own (counted).
    const { template } = this.pools.templateFor(req.tier, req.prompt_template);
    const tried = new Set<string>();
    let calls = 0;
    let sentAt = 0;
    let served: { endpoint: EndpointConfig; result: CompletionResult } | undefined;
    const policy = retry(
      handleWhen((err) => err instanceof LlmEndpointError && err.retriable && Date.now() < req.deadline_at),
      {
        maxAttempts: this.config.INFERENCE_MAX_ATTEMPTS - 1,
        backoff: new ExponentialBackoff({ initialDelay: this.config.RETRY_INITIAL_MS, maxDelay: this.config.RETRY_MAX_MS }),
      },
    );
    try {
      served = await policy.execute(async () => {
        const lease: EndpointLease | undefined = await pool.acquire(tried, req.deadline_at);
        if (!lease) throw new NoEndpointError(`no ${req.tier} endpoint could take the call before the deadline`);
        calls++;
        tried.add(lease.endpoint.url);
        sentAt = Date.now();
        try {
          // The versioned template chosen above: chat messages, or a completions prompt with its stop sequences.
          const rendered = renderPrompt(template, {
            systemPrompt: req.system_prompt ?? this.config.DEFAULT_SYSTEM_PROMPT,
            question: req.prompt,
            context: req.context,
          });
          const common = {
            endpoint: lease.endpoint.url,
            model: pool.model,
            max_tokens: req.max_tokens,
            temperature: req.temperature,
            deadlineMs: req.deadline_at,
            ...(rendered.stop !== undefined ? { stop: rendered.stop } : {}),
          };
          const result = await this.client.complete(
            rendered.api === 'chat' ? { ...common, messages: rendered.messages } : { ...common, prompt: rendered.prompt },
          );
          pool.release(lease, 'success');
          return { endpoint: lease.endpoint, result };
        } catch (err) {
          pool.release(lease, callOutcome(err));
          const source: ErrorSource = err instanceof LlmEndpointError ? err.source : 'own';
          this.metrics.callErrors.inc({ tier: req.tier, endpoint: lease.endpoint.url, source });
          this.logger.warn({ job_id: req.job_id, endpoint: lease.endpoint.url, call: calls, source, error: (err as Error).message }, 'inference call failed');
          throw err;
        }
      });
    } catch (err) {
      const code: NonRetriableCode =
        err instanceof NoEndpointError
          ? 'deadline_exceeded'
          : err instanceof LlmEndpointError
            ? `engine_${err.source === 'engine' ? 'error' : err.source}`
            : 'inference_error';
      const message = `inference failed after ${calls} call(s) on ${tried.size} endpoint(s): ${(err as Error).message}`;
      if (err instanceof LlmEndpointError || err instanceof NoEndpointError) {
        // A copy of this record delivered elsewhere (a rebalance during an outage) may have finished the attempt meanwhile.
        if (await this.markers.isDone(doneKey)) return Outcome.skipped('another delivery finished this job attempt meanwhile');
        await this.fail(req, code, message);
        await this.markers.markDone(doneKey, 'failed', DONE_TTL_S);
        throw new NonRetriableError(message, code, { cause: err });
      }
      throw err; // our own failure (e.g. a bug): the runtime's retry and DLQ policy applies
    }
    await this.publishCompletion(req, served, Math.max(0, sentAt - req.occurred_at));
    await this.markers.markDone(doneKey, 'completed', DONE_TTL_S);
    this.logger.debug(
      { job_id: req.job_id, endpoint: served.endpoint.url, template: templateId(template), e2e_ms: served.result.timings.e2e_ms, offset: ctx.offset },
      'inference completed',
    );
    return Outcome.success();
  }

  private async publishCompletion(req: InferenceRequestRouted, served: { endpoint: EndpointConfig; result: CompletionResult }, queueMs: number): Promise<void> {
    const { endpoint, result } = served;
    const model = this.pools.pool(req.tier).model;
    const t = result.timings;
    this.metrics.queue.observe({ tier: req.tier }, queueMs / 1000);
    this.metrics.ttft.observe({ tier: req.tier }, t.ttft_ms / 1000);
    this.metrics.tpot.observe({ tier: req.tier }, t.tpot_ms / 1000);
    this.metrics.e2e.observe({ tier: req.tier }, t.e2e_ms / 1000);
    this.serviceRate.record(req.tier, t.e2e_ms);
    const completed: InferenceCompleted = {
      ...newEnvelope(req.tenant_id, req.job_id),
      event_id: deterministicEventId(req.job_id, String(req.attempt), 'completed'),
      job_id: req.job_id,
      shadow: req.shadow,
      tier: req.tier,
      model,
      endpoint: endpoint.url,
      text: result.text,
      finish_reason: result.finish_reason,
      from_cache: false,
      usage: result.usage,
      timings: { queue_ms: queueMs, ...t },
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
      route: req.route,
      policy_version: req.policy_version,
      decision_reasons: req.decision_reasons,
    };
    const usage: UsageRecorded = {
      ...newEnvelope(req.tenant_id, req.job_id),
      event_id: deterministicEventId(req.job_id, String(req.attempt), 'usage'),
      job_id: req.job_id,
      kind: 'COMPLETION',
      model,
      tier: req.tier,
      pool: `tier-${req.tier}`,
      endpoint: endpoint.url,
      prompt_tokens: result.usage.prompt_tokens,
      completion_tokens: result.usage.completion_tokens,
      // Estimate: a running sequence holds 1/max_num_seqs of the GPU for its end-to-end time.
      gpu_seconds: t.e2e_ms / 1000 / endpoint.max_num_seqs,
      team: req.team,
      feature: req.feature,
      // The policy route; requests routed without a policy keep the router's rag/direct reason.
      route: req.route ?? req.route_reason,
      policy_version: req.policy_version,
      e2e_ms: t.e2e_ms,
      queue_ms: queueMs,
      ttft_ms: t.ttft_ms,
      tpot_ms: t.tpot_ms,
      gpu_type: endpoint.gpu_type,
      usd_per_gpu_hour: endpoint.usd_per_gpu_hour,
    };
    await this.publisher.publish(Topics.inferenceCompleted, { value: completed });
    await this.publisher.publish(Topics.usageRecorded, { value: usage });
    // The OpenAI Batch `finalizing` state: the answer exists and is being judged and billed.
    await this.status(req, 'finalizing', null);
  }

  private async fail(req: InferenceRequestRouted, code: string, message: string): Promise<void> {
    this.metrics.jobsFailed.inc({ tier: req.tier, code });
    await this.status(req, 'failed', { code, message });
  }

  private async status(req: InferenceRequestRouted, state: JobState, error: JobError | null): Promise<void> {
    const ev: JobStatusChanged = { ...newEnvelope(req.tenant_id, req.job_id), job_id: req.job_id, state, stage: 'inference', result: null, error };
    await this.publisher.publish(Topics.jobStatus, { value: ev });
  }
}
