import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HashingEmbedder, type EmbeddingsClient } from '@llmgov/embeddings';
import { RecordingPublisher } from '@llmgov/testing';
import { Topics, type ChunkEmbedded, type DocumentValidated, type UsageRecorded } from '@llmgov/contracts';
import type { EventPublisher } from '@llmgov/kafka-runtime';
import type { EffectMarkersRepository, IndexVersionsRepository } from '@llmgov/persistence';
import { loadEmbedderConfig } from '../config.js';
import { EmbeddingService, modelTag } from './embedding.service.js';

/** Effect-marker double; `crash` drops every marker (a crash before the marker was written). */
function fakeMarkers() {
  const keys = new Map<string, string>();
  const markers = { isDone: async (k: string) => keys.has(k), markDone: async (k: string, v: string) => void keys.set(k, v) };
  return { markers: markers as unknown as EffectMarkersRepository, crash: () => keys.clear() };
}

const doc = (over: Partial<DocumentValidated> = {}): DocumentValidated =>
  ({
    event_id: 'e1',
    tenant_id: 'tenant-a',
    occurred_at: 0,
    schema_version: 1,
    correlation_id: 'd1',
    document_id: 'd1',
    source: 'spec',
    title: 'T',
    text: 'The Normans were the people who in the 10th and 11th centuries gave their name to Normandy.',
    language: 'en',
    content_hash: 'h1',
    metadata: {},
    ...over,
  }) as DocumentValidated;

describe(EmbeddingService.name, () => {
  const config = loadEmbedderConfig();
  const setup = (embeddings: EmbeddingsClient = new HashingEmbedder({ dimensions: 64 }), shared = fakeMarkers()) => {
    const publisher = new RecordingPublisher();
    const sut = new EmbeddingService(config, embeddings, shared.markers, publisher as unknown as EventPublisher);
    return { sut, publisher, crash: shared.crash };
  };

  /** An endpoint serving a real-looking model under one name whose version can change (a new revision deployed). */
  const servedModel = () => {
    const inner = new HashingEmbedder({ dimensions: 64 });
    const served = { version: 'rev-1' };
    const client: EmbeddingsClient = {
      embed: async (texts) => {
        return { ...(await inner.embed(texts)), model: 'all-MiniLM-L6-v2', modelVersion: served.version };
      },
    };
    return { client, served };
  };

  it('a redelivery after a crash before the marker republishes the same usage event id, so billing counts it once', async () => {
    const { sut, publisher, crash } = setup();
    assert.equal((await sut.embedDocument(doc())).status, 'success');
    crash();
    assert.equal((await sut.embedDocument(doc())).status, 'success');
    const usage = publisher.on<UsageRecorded>(Topics.usageRecorded);
    assert.equal(usage.length, 2);
    assert.equal(usage[0]!.event_id, usage[1]!.event_id);
    const chunks = publisher.on<{ event_id: string }>(Topics.chunkEmbedded);
    assert.equal(chunks[0]!.event_id, chunks[chunks.length / 2]!.event_id, 'chunk events are deterministic too');
  });

  it('skips a document already embedded with the same content and model, and bills new content anew', async () => {
    const { sut, publisher } = setup();
    await sut.embedDocument(doc());
    assert.equal((await sut.embedDocument(doc())).status, 'skipped');
    await sut.embedDocument(doc({ content_hash: 'h2', text: 'New text of the same document.' }));
    const usage = publisher.on<UsageRecorded>(Topics.usageRecorded);
    assert.equal(usage.length, 2);
    assert.notEqual(usage[0]!.event_id, usage[1]!.event_id);
  });

  it('keys idempotency on the served model and version: a new version behind the same name re-embeds', async () => {
    const { client, served } = servedModel();
    const { sut, publisher } = setup(client);
    assert.equal((await sut.embedDocument(doc())).status, 'success');
    assert.deepEqual(await sut.embedDocument(doc()), { status: 'skipped', reason: 'already embedded with this content and model' });
    served.version = 'rev-2';
    assert.equal((await sut.embedDocument(doc())).status, 'success', 'rev-2 has not embedded it yet');
    assert.equal((await sut.embedDocument(doc())).status, 'skipped');
    const chunks = publisher.on<{ event_id: string; embedding_model_version: string }>(Topics.chunkEmbedded);
    assert.deepEqual(
      chunks.map((c) => c.embedding_model_version),
      ['rev-1', 'rev-2'],
    );
    assert.notEqual(chunks[0]!.event_id, chunks[1]!.event_id);
    assert.equal(publisher.on<UsageRecorded>(Topics.usageRecorded).length, 2, 'billed once per model version');
  });

  it('modelTag names model, version and dimensions', () => {
    assert.equal(modelTag({ model: 'all-MiniLM-L6-v2', modelVersion: 'rev-1', dimensions: 384 }), 'all-MiniLM-L6-v2@rev-1:384');
  });

  it('a tombstone goes on to the chunks topic under the same key; a key without tenant/document is skipped', async () => {
    const { sut, publisher } = setup();
    assert.deepEqual(await sut.forwardTombstone('tenant-a/d1'), { status: 'success' });
    assert.deepEqual(publisher.sent, [{ topic: Topics.chunkEmbedded, key: 'tenant-a/d1', value: null }]);
    assert.equal((await sut.forwardTombstone(null)).status, 'skipped');
    assert.equal((await sut.forwardTombstone('nodoc')).status, 'skipped');
  });

  it('only a redelivery is deduplicated: the same text as a new event (re-submitted after a delete) is embedded again', async () => {
    const { sut, publisher } = setup();
    assert.equal((await sut.embedDocument(doc())).status, 'success');
    assert.equal((await sut.embedDocument(doc())).status, 'skipped', 'the same event again: a redelivery');
    assert.equal((await sut.embedDocument(doc({ event_id: 'e2' }))).status, 'success');
    assert.equal(publisher.on(Topics.usageRecorded).length, 2);
  });

  it("a tenant's index versions (building, active, kept) get their own embedding and chunking; v1 is not written twice", async () => {
    const publisher = new RecordingPublisher();
    const version = (v: string, dimensions: number, chunkTokens: number) => ({
      tenantId: 'tenant-a',
      version: v,
      collection: `c-${v}`,
      state: 'building' as const,
      embeddings: 'local' as const,
      embeddingsUrl: null,
      model: 'local-hashing-ngram',
      modelVersion: 'v1',
      dimensions,
      chunkTokens,
      chunkOverlap: 0,
    });
    const versions = { writeTargets: async () => [version('v1', 64, 256), version('v2', 32, 8)] } as unknown as IndexVersionsRepository;
    const sut = new EmbeddingService(config, new HashingEmbedder({ dimensions: 64 }), fakeMarkers().markers, publisher as unknown as EventPublisher, versions);
    assert.equal((await sut.embedDocument(doc())).status, 'success');
    const chunks = publisher.on<ChunkEmbedded>(Topics.chunkEmbedded);
    const byDims = (n: number) => chunks.filter((c) => c.dense.length === n);
    assert.equal(byDims(64).length, 1, 'the shared collection: one chunk of up to 256 tokens');
    assert.ok(byDims(32).length > 1, 'v2: its own 8-token chunks at 32 dimensions');
    assert.equal(chunks.length, byDims(64).length + byDims(32).length, 'v1 (the shared collection) is not embedded twice');
    assert.equal(publisher.on(Topics.usageRecorded).length, 2);
  });
});
