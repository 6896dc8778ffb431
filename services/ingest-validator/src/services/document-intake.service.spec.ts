import { describe, it } from 'node:test';
import { NotFoundException } from '@nestjs/common';
import assert from 'node:assert/strict';
import { ValidationError } from '@llmgov/errors';
import { RecordingPublisher } from '@llmgov/testing';
import { Topics, type DocumentSubmitted, type DocumentValidated } from '@llmgov/contracts';
import type { EventPublisher } from '@llmgov/kafka-runtime';
import { loadIngestConfig } from '../config.js';
import type { DocumentsRepository } from '../repositories/documents.repository.js';
import { DocumentIntakeService } from './document-intake.service.js';
import { ValidationService } from './validation.service.js';
import { submittedDocument } from './test/documents.js';

/** The documents table in memory: the content hash last accepted per tenant and document. */
class FakeDocumentsRepository {
  readonly hashes = new Map<string, string>();
  async currentHash(tenantId: string, documentId: string) {
    return this.hashes.get(`${tenantId}/${documentId}`);
  }
  readonly texts = new Map<string, string>();
  async recordDocument(doc: { tenant_id: string; document_id: string; content_hash: string; text: string }) {
    this.hashes.set(`${doc.tenant_id}/${doc.document_id}`, doc.content_hash);
    this.texts.set(`${doc.tenant_id}/${doc.document_id}`, doc.text);
  }
  async remove(tenantId: string, documentId: string) {
    this.texts.delete(`${tenantId}/${documentId}`);
    return this.hashes.delete(`${tenantId}/${documentId}`);
  }
}

const raw = (over: Partial<DocumentSubmitted> = {}): DocumentSubmitted =>
  submittedDocument({
    title: null,
    text: 'Architecturally, the school has a Catholic character. Contact: dean@nd.edu',
    metadata: { squad_split: 'dev' },
    ...over,
  });

function setup() {
  const config = loadIngestConfig({ PLATFORM_MODE: 'local' });
  const documents = new FakeDocumentsRepository();
  const publisher = new RecordingPublisher();
  const sut = new DocumentIntakeService(new ValidationService(config), documents as unknown as DocumentsRepository, publisher as unknown as EventPublisher);
  return { sut, documents, publisher };
}

describe(DocumentIntakeService.name, () => {
  it('submit: publishes a valid document to the raw topic keyed tenant/document, with a fresh envelope', async () => {
    const { sut, publisher } = setup();
    const { event_id: _e, occurred_at: _o, schema_version: _s, correlation_id: _c, ...doc } = raw();
    const record = await sut.submit(doc);
    assert.equal(record.correlation_id, 'doc-1');
    assert.deepEqual(publisher.keysOn(Topics.documentSubmitted), ['tenant-a/doc-1']);
    assert.equal(publisher.on<DocumentSubmitted>(Topics.documentSubmitted)[0]!.text, doc.text, 'the raw text: validation runs again on the topic');
  });

  it('submit: an invalid document throws every reason and publishes nothing', async () => {
    const { sut, publisher } = setup();
    const { event_id: _e, occurred_at: _o, schema_version: _s, correlation_id: _c, ...doc } = raw({ tenant_id: 'tenant-z', text: '' });
    await assert.rejects(sut.submit(doc), (err: unknown) => err instanceof ValidationError && err.reasons.length === 2);
    assert.equal(publisher.sent.length, 0);
  });

  it('accept: forwards the validated, masked document and records its hash after the publish', async () => {
    const { sut, documents, publisher } = setup();
    assert.deepEqual(await sut.accept(raw()), { status: 'success' });
    const [validated] = publisher.on<DocumentValidated>(Topics.documentValidated);
    assert.equal(validated!.text, 'Architecturally, the school has a Catholic character. Contact: [EMAIL]');
    assert.deepEqual(publisher.keysOn(Topics.documentValidated), ['tenant-a/doc-1']);
    assert.equal(documents.hashes.get('tenant-a/doc-1'), validated!.content_hash);
    assert.equal(documents.texts.get('tenant-a/doc-1'), validated!.text, 'the source of record keeps the forwarded (masked) text');
  });

  it('requestDelete: a tombstone keyed tenant/document on the raw topic; unknown, malformed and other tenants’ ids are 404', async () => {
    const { sut, publisher } = setup();
    await sut.accept(raw());
    assert.deepEqual(await sut.requestDelete('tenant-a', 'doc-1'), { document_id: 'doc-1', status: 'deleting' });
    assert.deepEqual(publisher.sent.at(-1), { topic: Topics.documentSubmitted, key: 'tenant-a/doc-1', value: null });
    for (const [tenant, id] of [
      ['tenant-a', 'doc-unknown'],
      ['tenant-b', 'doc-1'],
      ['tenant-a', '../doc-1'],
      ['tenant-a', 'a/b'],
      ['tenant-a', ''],
    ] as const) {
      await assert.rejects(sut.requestDelete(tenant, id), (err: unknown) => err instanceof NotFoundException, `${tenant} ${id}`);
    }
    assert.equal(publisher.on(Topics.documentSubmitted).length, 1, 'nothing published for the refused ids');
  });

  it('acceptTombstone: removes the row and forwards the tombstone; bad keys and unknown tenants are skipped', async () => {
    const { sut, documents, publisher } = setup();
    await sut.accept(raw());
    assert.deepEqual(await sut.acceptTombstone('tenant-a/doc-1'), { status: 'success' });
    assert.equal(documents.hashes.has('tenant-a/doc-1'), false);
    assert.deepEqual(publisher.sent.at(-1), { topic: Topics.documentValidated, key: 'tenant-a/doc-1', value: null });
    for (const key of [null, '', 'no-slash', '/doc-1', 'tenant-a/', 'tenant-a/bad id', 'tenant-z/doc-1']) {
      assert.equal((await sut.acceptTombstone(key)).status, 'skipped', String(key));
    }
    // The same content submitted after the delete is a new document again (not a duplicate).
    assert.equal((await sut.accept(raw({ event_id: 'resubmitted' }))).status, 'success');
  });

  it('accept: the same content again is skipped; new content for the same document is forwarded', async () => {
    const { sut, publisher } = setup();
    await sut.accept(raw());
    assert.deepEqual(await sut.accept(raw({ event_id: 'another-delivery' })), { status: 'skipped', reason: 'duplicate content' });
    assert.equal((await sut.accept(raw({ text: 'A revised text.' }))).status, 'success');
    assert.equal(publisher.on(Topics.documentValidated).length, 2);
    // The same content under another tenant is that tenant's own document.
    assert.equal((await sut.accept(raw({ tenant_id: 'tenant-b' }))).status, 'success');
  });

  it('accept: a failed publish records no hash, so the redelivery forwards the document', async () => {
    const { sut, documents, publisher } = setup();
    publisher.before = () => Promise.reject(new Error('broker down'));
    await assert.rejects(sut.accept(raw()), /broker down/);
    assert.equal(documents.hashes.size, 0);
    publisher.before = undefined;
    assert.equal((await sut.accept(raw())).status, 'success');
    assert.equal(publisher.on(Topics.documentValidated).length, 1);
  });

  it('accept: an invalid document throws a ValidationError (dead-lettered by the runtime) and forwards nothing', async () => {
    const { sut, documents, publisher } = setup();
    await assert.rejects(sut.accept(raw({ language: 'tlh' })), ValidationError);
    assert.equal(publisher.sent.length, 0);
    assert.equal(documents.hashes.size, 0);
  });
});
