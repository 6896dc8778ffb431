import { Injectable, NotFoundException } from '@nestjs/common';
import { EventPublisher, Outcome, deterministicEventId, newEnvelope, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { Topics, type DocumentSubmitted, type DocumentValidated } from '@llmgov/contracts';
import { DocumentsRepository } from '../repositories/documents.repository.js';
import { ValidationService } from './validation.service.js';

/** The document id format (validation.service.ts ID_RE): no '/', so a key `<tenant>/<document>` splits at its last '/'. */
const DOCUMENT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,255}$/;

/** The Kafka key of a document's records (the catalog's key fields `tenant_id/document_id`). */
export const documentKey = (tenantId: string, documentId: string): string => `${tenantId}/${documentId}`;

/** The tenant and document of a documents-topic key, or undefined when it is not `<tenant>/<well-formed document id>`. */
export function parseDocumentKey(key: string | null): { tenantId: string; documentId: string } | undefined {
  if (!key) return undefined;
  const at = key.lastIndexOf('/');
  if (at <= 0) return undefined;
  const documentId = key.slice(at + 1);
  return DOCUMENT_ID_RE.test(documentId) ? { tenantId: key.slice(0, at), documentId } : undefined;
}

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
    await this.documents.recordDocument(validated);
    return Outcome.success();
  }

  /**
   * `DELETE /v1/documents/{id}`: publishes a tombstone for the tenant's document on the raw topic, where it follows
   * any submission of the same document (same key, same partition) through the pipeline. The 202 means accepted: the
   * chunks are gone once the indexer has handled the tombstone (`documents.index.status.v1` DELETED).
   * @throws NotFoundException for an id that is malformed, unknown, or another tenant's (never revealed).
   */
  async requestDelete(tenantId: string, documentId: string): Promise<{ document_id: string; status: 'deleting' }> {
    if (!DOCUMENT_ID_RE.test(documentId) || (await this.documents.currentHash(tenantId, documentId)) === undefined) {
      throw new NotFoundException(`document ${documentId.slice(0, 100)} not found`);
    }
    await this.publisher.publishTombstone(Topics.documentSubmitted, documentKey(tenantId, documentId));
    return { document_id: documentId, status: 'deleting' };
  }

  /**
   * A tombstone on the raw topic (from `requestDelete` or any producer): removes the document from the source of record
   * and forwards the tombstone to the validated topic (the embedder passes it on to the indexer, which deletes the
   * chunks from every index version and drops the cached answers built on them). Idempotent; a redelivery forwards it
   * again, which is harmless. A tombstone whose key is not `<known tenant>/<document id>` is skipped with the reason.
   */
  async acceptTombstone(key: string | null): Promise<HandlerOutcome> {
    const parsed = parseDocumentKey(key);
    if (!parsed) return Outcome.skipped(`tombstone key ${JSON.stringify(key?.slice(0, 100) ?? null)} is not <tenant_id>/<document_id>`);
    if (!this.validation.isKnownTenant(parsed.tenantId)) return Outcome.skipped(`tombstone of unknown tenant ${parsed.tenantId.slice(0, 100)}`);
    // The row first: a re-index reading the source of record from now on no longer rebuilds the document.
    await this.documents.remove(parsed.tenantId, parsed.documentId);
    await this.publisher.publishTombstone(Topics.documentValidated, documentKey(parsed.tenantId, parsed.documentId));
    return Outcome.success();
  }
}
