import { randomUUID } from 'node:crypto';
import { ConflictException, Inject, Injectable, NotFoundException, ServiceUnavailableException, UnprocessableEntityException } from '@nestjs/common';
import { EventPublisher, Outcome, ReplayHeaders, deterministicEventId, effectKey, newEnvelope, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { ValidationError } from '@llmgov/errors';
import { JobFlagsRepository } from '@llmgov/persistence';
import { LOGGER, type Logger } from '@llmgov/observability';
import { Topics, isShadowJobId, type InferenceRequestSubmitted, type InferenceRequestValidated, type JobState, type JobStatusChanged } from '@llmgov/contracts';
import { JobsRepository, type JobRow } from '../repositories/jobs.repository.js';
import { ValidationService } from './validation.service.js';
import { TERMINAL_STATES } from './job-lifecycle.js';
import { INGEST_CONFIG, type IngestConfig } from '../config.js';
import { canonicalRequest, requestFingerprint } from './request-fingerprint.js';

/** What a submitter sends to `POST /v1/jobs` (already shape-checked by the controller). */
export interface JobSubmission {
  prompt: string;
  system_prompt?: string | null;
  idempotency_key?: string | null;
  budget: { latency_ms: number; max_cost_usd: number; min_quality: number };
  options: { max_tokens: number; temperature: number; rag: boolean; tier_hint?: string | null };
  team?: string | null;
  feature?: string | null;
  /** Policy route; absent or null for the tenant's default route. */
  route?: string | null;
  metadata?: Record<string, string>;
}

/** The public view of a job, modelled on the OpenAI Batch object: Unix-second timestamps, `status`, `result`/`error`. */
export interface JobView {
  id: string;
  object: 'job';
  tenant_id: string;
  status: JobState;
  stage: string | null;
  idempotency_key: string | null;
  created_at: number;
  in_progress_at: number | null;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  expired_at: number | null;
  result: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
}

const CANCEL_FLAG_TTL_S = 7 * 24 * 3600;
const toUnix = (d: Date | null): number | null => (d ? Math.floor(d.getTime() / 1000) : null);

/** The async job API and the job-status projection. */
@Injectable()
export class JobsService {
  constructor(
    @Inject(INGEST_CONFIG) private readonly config: IngestConfig,
    private readonly jobs: JobsRepository,
    private readonly validation: ValidationService,
    private readonly publisher: EventPublisher,
    private readonly jobFlags: JobFlagsRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Creates a job (or returns the tenant's existing job for the same idempotency key and the same request) and
   * publishes it to `inference.request.submitted.v1`. The jobs row keeps only the normalised, PII-masked prompt
   * (what the pipeline forwards) and a fingerprint of the request, never the raw text.
   * @throws ValidationError (400) with every reason; UnprocessableEntityException (422, `idempotency_key_reused`)
   *   when the key was used before with a different request (as the IETF Idempotency-Key draft and Stripe do);
   *   ServiceUnavailableException (503) when Kafka does not acknowledge.
   */
  async submit(tenantId: string, body: JobSubmission): Promise<{ job: JobView; created: boolean }> {
    const jobId = randomUUID();
    const request: InferenceRequestSubmitted = {
      ...newEnvelope(tenantId, jobId),
      job_id: jobId,
      idempotency_key: body.idempotency_key ?? null,
      ...canonicalRequest(body),
    };
    const validated = this.validation.validateInferenceRequest(request);
    const fingerprint = requestFingerprint(body);
    const { job, created } = await this.jobs.create({
      jobId,
      tenantId,
      idempotencyKey: request.idempotency_key,
      request: { prompt: validated.prompt, budget: request.budget, options: request.options, team: request.team, feature: request.feature },
      requestFingerprint: fingerprint,
    });
    if (!created) {
      // A row without a fingerprint predates migration 004 or came from the raw topic: nothing to compare.
      if (job.request_fingerprint !== null && job.request_fingerprint !== fingerprint) {
        throw new UnprocessableEntityException({
          code: 'idempotency_key_reused',
          message: `idempotency_key was already used for job ${job.job_id} with a different request; send a new key for a new request`,
        });
      }
      return { job: toView(job), created: false };
    }
    const published = this.publisher.publish(Topics.inferenceSubmitted, { value: request }).then(
      () => 'queued' as const,
      (err: unknown) => err,
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.config.SUBMIT_PUBLISH_TIMEOUT_MS)));
    const outcome = await Promise.race([published, timedOut]);
    clearTimeout(timer);
    if (outcome === 'queued') return { job: toView(job), created: true };
    if (outcome === 'timeout') {
      // Kafka is slow or down: answer now rather than hold the caller. The publish goes on; if it never lands, the
      // job stays `validating` and the expiry sweeper ends it, so a retry with the same key always finds a job.
      this.logger.warn({ job_id: jobId, timeout_ms: this.config.SUBMIT_PUBLISH_TIMEOUT_MS }, 'job publish not acknowledged in time');
      void published.then((r) => r !== 'queued' && this.logger.error({ err: r, job_id: jobId }, 'job publish failed after the caller was answered'));
      throw new ServiceUnavailableException(
        `the job was not confirmed queued within ${this.config.SUBMIT_PUBLISH_TIMEOUT_MS} ms; retry with the same idempotency key`,
      );
    }
    this.logger.error({ err: outcome, job_id: jobId }, 'job publish failed; job withdrawn');
    await this.jobs.delete(jobId);
    throw new ServiceUnavailableException('the job could not be queued; retry with the same idempotency key');
  }

  /** @throws NotFoundException when the job does not exist for this tenant (other tenants' jobs are not revealed). */
  async get(tenantId: string, jobId: string): Promise<JobView> {
    const job = await this.jobs.find(tenantId, jobId);
    if (!job) throw new NotFoundException(`job ${jobId.slice(0, 100)} not found`);
    return toView(job);
  }

  /**
   * Requests cancellation: the job moves to `cancelling`, a Redis flag tells the pipeline to stop, and the
   * stage holding the job publishes `cancelled`.
   * @throws NotFoundException; ConflictException when the job already reached a final state.
   */
  async cancel(tenantId: string, jobId: string): Promise<JobView> {
    const job = await this.jobs.find(tenantId, jobId);
    if (!job) throw new NotFoundException(`job ${jobId.slice(0, 100)} not found`);
    if (TERMINAL_STATES.has(job.state)) throw new ConflictException(`job ${jobId} is already ${job.state}`);
    await this.jobFlags.markCancelled(jobId, CANCEL_FLAG_TTL_S);
    const event: JobStatusChanged = { ...newEnvelope(tenantId, jobId), job_id: jobId, state: 'cancelling', stage: 'api', result: null, error: null };
    await this.jobs.applyStatus(event);
    await this.publisher.publish(Topics.jobStatus, { value: event });
    return this.get(tenantId, jobId);
  }

  /**
   * Raw-topic intake: validates a submitted request, makes sure the job row exists (producers may publish
   * without the HTTP API), and forwards it. An invalid request fails its job with the reasons, then is dead-lettered.
   *
   * A copy of an earlier record (`llmgov replay --target reprocess`, a DLQ redrive: it carries `origin.event.id`) is
   * deduplicated by that original event id: the original's effect is its job (the job id is part of the original
   * event), so when that job has moved past intake (routed, running or final) what is done stays done and the copy is
   * skipped; a job still at `validating` (the original never got through) is forwarded, under the forwarded event id
   * derived from the original's. A copy that asks for a new version (`replay.version`) is not deduplicated here: its
   * effect key differs (`effectKey`).
   * @param headers the record's headers (RecordContext.headers); none for an HTTP submission.
   */
  async intake(req: InferenceRequestSubmitted, headers: Readonly<Record<string, string>> = {}): Promise<HandlerOutcome> {
    const key = effectKey(headers, req.event_id);
    if (headers[ReplayHeaders.originEventId] !== undefined && headers[ReplayHeaders.version] === undefined) {
      const job = await this.jobs.findById(req.job_id);
      if (job && job.state !== 'validating') return Outcome.skipped(`already done: job ${req.job_id} of origin event ${key} is ${job.state}`);
    }
    let validated: Omit<InferenceRequestValidated, 'event_id' | 'occurred_at'>;
    try {
      validated = this.validation.validateInferenceRequest(req);
    } catch (err) {
      if (err instanceof ValidationError && this.validation.isKnownTenant(req.tenant_id)) {
        await this.jobs
          .create({ jobId: req.job_id, tenantId: req.tenant_id, idempotencyKey: null, request: { prompt: this.validation.maskedText(req.prompt, 2000) } })
          .catch(() => undefined);
        await this.publishStatus(req.tenant_id, req.job_id, 'failed', 'ingest', { code: err.code, message: err.message });
      }
      throw err;
    }
    if (await this.jobFlags.isCancelled(req.job_id)) {
      await this.publishStatus(req.tenant_id, req.job_id, 'cancelled', 'ingest', { code: 'cancelled', message: 'cancelled by the submitter' });
      return Outcome.skipped('job cancelled');
    }
    await this.jobs.create({
      jobId: req.job_id,
      tenantId: req.tenant_id,
      idempotencyKey: req.idempotency_key,
      request: { prompt: validated.prompt, budget: req.budget, options: req.options },
    });
    // occurred_at stays the submission's (the latency budget counts from there); the event itself gets its own id,
    // deterministic so a redelivered submission yields the same validated event.
    const value: InferenceRequestValidated = {
      ...newEnvelope(req.tenant_id, req.job_id),
      ...validated,
      event_id: deterministicEventId(key, 'validated'),
    };
    await this.publisher.publish(Topics.inferenceValidated, { value });
    return Outcome.success();
  }

  /**
   * Projects a status event into the jobs table. A shadow copy's status (job `shadow:<job id>`, ADR 0009: the worker
   * reports its attempts like any job's) is skipped: the user's job is only ever the stable answer's.
   */
  async applyStatus(ev: JobStatusChanged): Promise<HandlerOutcome> {
    if (isShadowJobId(ev.job_id)) return Outcome.skipped('shadow copy: the user job never changes');
    const r = await this.jobs.applyStatus(ev);
    return r === 'applied' ? Outcome.success() : Outcome.skipped(r === 'ignored' ? `transition to ${ev.state} not allowed from current state` : 'unknown job');
  }

  private async publishStatus(tenantId: string, jobId: string, state: JobState, stage: string, error: { code: string; message: string } | null): Promise<void> {
    const event: JobStatusChanged = { ...newEnvelope(tenantId, jobId), job_id: jobId, state, stage, result: null, error };
    await this.publisher.publish(Topics.jobStatus, { value: event });
  }
}

function toView(job: JobRow): JobView {
  return {
    id: job.job_id,
    object: 'job',
    tenant_id: job.tenant_id,
    status: job.state,
    stage: job.stage,
    idempotency_key: job.idempotency_key,
    created_at: toUnix(job.created_at)!,
    in_progress_at: toUnix(job.in_progress_at),
    finalizing_at: toUnix(job.finalizing_at),
    completed_at: toUnix(job.completed_at),
    failed_at: toUnix(job.failed_at),
    cancelling_at: toUnix(job.cancelling_at),
    cancelled_at: toUnix(job.cancelled_at),
    expired_at: toUnix(job.expired_at),
    result: job.result,
    error: job.error,
  };
}
