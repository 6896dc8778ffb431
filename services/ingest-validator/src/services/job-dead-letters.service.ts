import { Inject, Injectable } from '@nestjs/common';
import {
  AvroSerde,
  DlqHeaders,
  EventPublisher,
  Outcome,
  deterministicEventId,
  newEnvelope,
  type HandlerOutcome,
  type RecordContext,
} from '@llmgov/kafka-runtime';
import { LOGGER, type Logger } from '@llmgov/observability';
import { Topics, type JobStatusChanged } from '@llmgov/contracts';
import { JobsRepository, isUuid } from '../repositories/jobs.repository.js';
import { TERMINAL_STATES } from './job-lifecycle.js';

const MAX_MESSAGE_CHARS = 500;

/**
 * Ends the job of every dead-lettered request: a record of a job-keyed topic (submitted, validated, routed, completed)
 * that a stage sent to its DLQ moves its job to `failed`, with the DLQ's error code and a message naming the stage,
 * so no job waits forever for a record nobody will handle. The failure is published on `jobs.job.status.v1` (the
 * projection applies it) with a deterministic event id, so a redelivered DLQ record fails its job once.
 */
@Injectable()
export class JobDeadLettersService {
  constructor(
    private readonly jobs: JobsRepository,
    private readonly serde: AvroSerde,
    private readonly publisher: EventPublisher,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * @param value the dead-lettered record's value bytes, unchanged (they may be undecodable: that can be why it failed)
   * @param ctx the DLQ record: its key is the job id (the catalog's keyField for these topics), its headers the provenance
   */
  async failJob(value: Buffer | null, ctx: RecordContext): Promise<HandlerOutcome> {
    const jobId = await this.jobIdOf(value, ctx);
    if (!jobId) return Outcome.skipped('dead letter names no job id');
    const job = await this.jobs.findById(jobId);
    if (!job) return Outcome.skipped('unknown job');
    if (TERMINAL_STATES.has(job.state)) return Outcome.skipped(`job already ${job.state}`);
    const h = ctx.headers;
    const stage = h[DlqHeaders.service] ?? 'pipeline';
    const source = h[DlqHeaders.sourceTopic] ?? ctx.topic.replace(/\.dlq$/, '');
    const reason = (h[DlqHeaders.errorMessage] ?? 'no reason recorded').slice(0, MAX_MESSAGE_CHARS);
    const event: JobStatusChanged = {
      ...newEnvelope(job.tenant_id, jobId),
      event_id: deterministicEventId(jobId, 'dead-lettered', ctx.topic, String(ctx.partition), ctx.offset),
      job_id: jobId,
      state: 'failed',
      stage,
      result: null,
      error: { code: h[DlqHeaders.errorCode] ?? 'dead_lettered', message: `${stage} dead-lettered the request from ${source}: ${reason}` },
    };
    await this.publisher.publish(Topics.jobStatus, { value: event });
    this.logger.info({ job_id: jobId, topic: ctx.topic, offset: ctx.offset, error_code: event.error?.code }, 'job failed by its dead letter');
    return Outcome.success();
  }

  private async jobIdOf(value: Buffer | null, ctx: RecordContext): Promise<string | undefined> {
    if (ctx.key && isUuid(ctx.key)) return ctx.key.toLowerCase();
    try {
      const decoded = (await this.serde.decode(value)) as { job_id?: unknown };
      return typeof decoded.job_id === 'string' && isUuid(decoded.job_id) ? decoded.job_id.toLowerCase() : undefined;
    } catch (err) {
      this.logger.warn({ topic: ctx.topic, offset: ctx.offset, error: (err as Error).message }, 'dead letter without a job key is undecodable');
      return undefined;
    }
  }
}
