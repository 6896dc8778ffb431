import { Injectable } from '@nestjs/common';
import { KafkaHandler, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type DocumentSubmitted, type InferenceRequestSubmitted, type JobStatusChanged } from '@llmgov/contracts';
import { DocumentIntakeService } from '../services/document-intake.service.js';
import { JobsService } from '../services/jobs.service.js';

/** Kafka entry points of ingest-validator: raw documents, raw inference requests, and the job-status projection. */
@Injectable()
export class IntakeHandlers {
  constructor(
    private readonly documents: DocumentIntakeService,
    private readonly jobs: JobsService,
  ) {}

  @KafkaHandler(Topics.documentSubmitted)
  onDocument(doc: DocumentSubmitted): Promise<HandlerOutcome> {
    return this.documents.accept(doc);
  }

  @KafkaHandler(Topics.inferenceSubmitted)
  onInferenceRequest(req: InferenceRequestSubmitted): Promise<HandlerOutcome> {
    return this.jobs.intake(req);
  }

  @KafkaHandler(Topics.jobStatus)
  onJobStatus(ev: JobStatusChanged): Promise<HandlerOutcome> {
    return this.jobs.applyStatus(ev);
  }
}
