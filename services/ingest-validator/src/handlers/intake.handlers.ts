import { Ctx, Payload } from '@nestjs/microservices';
import { KafkaEventPattern, KafkaHandlers, type HandlerOutcome, type RecordContext } from '@llmgov/kafka-runtime';
import { Topics, type DocumentSubmitted, type InferenceRequestSubmitted, type JobStatusChanged } from '@llmgov/contracts';
import { DocumentIntakeService } from '../services/document-intake.service.js';
import { JobsService } from '../services/jobs.service.js';

/** Kafka entry points of ingest-validator: raw documents, raw inference requests, and the job-status projection. */
@KafkaHandlers()
export class IntakeHandlers {
  constructor(
    private readonly documents: DocumentIntakeService,
    private readonly jobs: JobsService,
  ) {}

  /** A document, or a tombstone (null value, key `<tenant>/<document>`): the document is deleted. */
  @KafkaEventPattern(Topics.documentSubmitted, { tombstones: true })
  onDocument(@Payload() doc: DocumentSubmitted | null, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return doc === null ? this.documents.acceptTombstone(ctx.key) : this.documents.accept(doc);
  }

  @KafkaEventPattern(Topics.inferenceSubmitted)
  onInferenceRequest(@Payload() req: InferenceRequestSubmitted, @Ctx() ctx: RecordContext): Promise<HandlerOutcome> {
    return this.jobs.intake(req, ctx.headers);
  }

  @KafkaEventPattern(Topics.jobStatus)
  onJobStatus(@Payload() ev: JobStatusChanged): Promise<HandlerOutcome> {
    return this.jobs.applyStatus(ev);
  }
}
