import { Injectable } from '@nestjs/common';
import { EventPublisher, Outcome, deterministicEventId, newEnvelope, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type DocumentSubmitted, type DocumentValidated } from '@llmgov/contracts';
import { DocumentsRepository } from '../repositories/documents.repository.js';
import { ValidationService } from './validation.service.js';

/** Validates raw documents and forwards the accepted ones, deduplicated by content hash per tenant. */
@Injectable()
export class DocumentIntakeService {
  constructor(
    private readonly validation: ValidationService,
    private readonly documents: DocumentsRepository,
    private readonly publisher: EventPublisher,
  ) {}

  /**
   * Publishes a producer's document to the raw topic (HTTP ingress path). Validation runs first so the
   * caller gets every reason synchronously.
   * @throws ValidationError
   */
  async submit(doc: Omit<DocumentSubmitted, 'event_id' | 'occurred_at' | 'schema_version' | 'correlation_id'>): Promise<DocumentSubmitted> {
    const record: DocumentSubmitted = { ...newEnvelope(doc.tenant_id, doc.document_id), ...doc };
    this.validation.validateDocument(record);
    await this.publisher.publish(Topics.documentSubmitted, { value: record });
    return record;
  }

  /**
   * Validates a raw document and publishes it to the validated topic unless the same content was already accepted.
   * The hash is recorded only after the publish is acknowledged, so a crash in between redelivers, never loses.
   * @throws ValidationError (dead-lettered by the runtime)
   */
  async accept(doc: DocumentSubmitted): Promise<HandlerOutcome> {
    const validated = this.validation.validateDocument(doc);
    const previous = await this.documents.currentHash(doc.tenant_id, doc.document_id);
    if (previous === validated.content_hash) return Outcome.skipped('duplicate content');
    const value: DocumentValidated = {
      ...newEnvelope(doc.tenant_id, doc.document_id),
      ...validated,
      event_id: deterministicEventId(doc.event_id, 'validated'),
    };
    await this.publisher.publish(Topics.documentValidated, { value });
    await this.documents.recordHash(doc.tenant_id, doc.document_id, validated.content_hash);
    return Outcome.success();
  }
}
