import { afterEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { RetriableError } from '@llmgov/errors';
import { PlatformMetrics } from '@llmgov/observability';
import { RecordingPublisher } from '@llmgov/testing';
import { HASHING_EMBEDDER_MODEL, HASHING_EMBEDDER_VERSION } from '@llmgov/embeddings';
import { indexVersion, pointId, type ChunkPoint, type VectorStore } from '@llmgov/vector-store';
import { Topics, type ChunkEmbedded, type IndexStatus } from '@llmgov/contracts';
import type { EventPublisher } from '@llmgov/kafka-runtime';
import { loadIndexerConfig } from '../config.js';
import { IndexingService } from './indexing.service.js';

/** A vector store double: records collection set-up and every upsert; `failUpserts` makes writes fail. */
class FakeVectorStore {
  readonly calls: string[] = [];
  readonly upserts: { collection: string; points: ChunkPoint[] }[] = [];
  failUpserts = false;
  async ensureCollection(name: string, opts: { dimensions: number }) {
    this.calls.push(`ensure ${name} ${opts.dimensions}`);
  }
  readonly aliases = new Map<string, string>();
  readonly deletes: { collection: string; documentId: string; keep: readonly string[] | undefined }[] = [];
  async setAlias(alias: string, collection: string) {
    this.calls.push(`alias ${alias} -> ${collection}`);
    this.aliases.set(alias, collection);
  }
  async resolveAlias(alias: string) {
    return this.aliases.get(alias);
  }
  async listCollections() {
    return [...new Set(this.calls.filter((c) => c.startsWith('ensure ')).map((c) => c.split(' ')[1]!))];
  }
  async deleteByDocument(collection: string, _tenantId: string, documentId: string, keep?: readonly string[]) {
    this.deletes.push({ collection, documentId, keep });
    return 0;
  }
  async upsert(collection: string, points: ChunkPoint[]) {
    if (this.failUpserts) throw new Error('connection refused');
    this.upserts.push({ collection, points });
  }
}

const chunk = (i: number, over: Partial<ChunkEmbedded> = {}): ChunkEmbedded =>
  ({
    event_id: `e${i}`,
    tenant_id: 'tenant-a',
    occurred_at: 0,
    schema_version: 1,
    correlation_id: 'doc-1',
    document_id: 'doc-1',
    chunk_id: `tenant-a:doc-1:${i}:hash-v1`,
    chunk_index: i,
    chunk_count: 2,
    title: 'Notre Dame',
    text: `Chunk ${i} text.`,
    token_count: 3,
    content_hash: 'h1',
    embedding_model: HASHING_EMBEDDER_MODEL,
    embedding_model_version: HASHING_EMBEDDER_VERSION,
    dense: [0.5, -0.5, 0.25, -0.25, 0.5, 0, -0.125, 0.125],
    sparse_indices: [17, 4096],
    sparse_values: [1.5, 0.75],
    metadata: {},
    ...over,
  }) as ChunkEmbedded;

/** The collection of the hashing embedder's 8-dimension space: where chunks go when no collection is pinned. */
const HASHING_8 = indexVersion({ model: HASHING_EMBEDDER_MODEL, modelVersion: HASHING_EMBEDDER_VERSION, dimensions: 8 });

function setup(over: { batchMax?: number; waitMs?: number; pinned?: string } = {}) {
  const config = {
    ...loadIndexerConfig(),
    EMBEDDING_DIMENSIONS: 8,
    VECTOR_COLLECTION: 'chunks',
    VECTOR_COLLECTION_VERSION: over.pinned,
    INDEX_BATCH_MAX: over.batchMax ?? 2,
    INDEX_BATCH_WAIT_MS: over.waitMs ?? 50,
  };
  const store = new FakeVectorStore();
  const publisher = new RecordingPublisher();
  const sut = new IndexingService(config, store as unknown as VectorStore, publisher as unknown as EventPublisher, new PlatformMetrics('spec'));
  return { sut, store, publisher };
}

describe(IndexingService.name, () => {
  afterEach(() => mock.timers.reset());

  it("on init creates the configured model's collection, named after its embedding space, and points the alias at it", async () => {
    const { sut, store } = setup();
    await sut.onModuleInit();
    assert.match(HASHING_8, /^chunks_local-hashing-ngram-v1-[0-9a-f]{8}_8_v1$/);
    assert.deepEqual(store.calls, [`ensure ${HASHING_8} 8`, `alias chunks -> ${HASHING_8}`]);
  });

  it('on init leaves an alias that points at an existing collection where it is (a re-index moved it; issue 12)', async () => {
    const { sut, store } = setup();
    await store.ensureCollection('chunks_tenant-v2', { dimensions: 8 });
    await store.setAlias('chunks', 'chunks_tenant-v2');
    await sut.onModuleInit();
    assert.equal(await store.resolveAlias('chunks'), 'chunks_tenant-v2');
    // An alias naming a collection that is gone is repaired.
    store.aliases.set('chunks', 'chunks_gone');
    await sut.onModuleInit();
    assert.equal(await store.resolveAlias('chunks'), HASHING_8);
  });

  it("with a document's last chunk, its chunks beyond the current count go (a shorter re-submission)", async () => {
    const { sut, store } = setup({ batchMax: 2, waitMs: 1 });
    await sut.onModuleInit();
    await Promise.all([sut.index(chunk(0, { chunk_count: 2 })), sut.index(chunk(1, { chunk_count: 2 }))]);
    assert.deepEqual(store.deletes, [{ collection: HASHING_8, documentId: 'doc-1', keep: ['doc-1#0', 'doc-1#1'] }]);
  });

  it('on a tombstone removeDocument deletes from every chunks_* collection of the store', async () => {
    const { sut, store } = setup();
    await sut.onModuleInit();
    await store.ensureCollection('chunks_other-model_8_v2', { dimensions: 8 });
    await store.ensureCollection('unrelated', { dimensions: 8 });
    await sut.removeDocument('tenant-a', 'doc-9');
    assert.deepEqual(store.deletes.map((d) => d.collection).sort(), [HASHING_8, 'chunks_other-model_8_v2'].sort());
  });

  it("a chunk for a tenant's index version goes to that version's collection of its space; a bad version header is skipped", async () => {
    const { sut, store } = setup({ batchMax: 1, waitMs: 1 });
    await sut.onModuleInit();
    assert.equal((await sut.index(chunk(0, { chunk_count: 1 }), 'v2')).status, 'success');
    const v2 = indexVersion({ model: HASHING_EMBEDDER_MODEL, modelVersion: HASHING_EMBEDDER_VERSION, dimensions: 8 }, 'chunks', 'v2');
    assert.deepEqual(
      store.upserts.map((u) => u.collection),
      [v2],
    );
    for (const bad of ['2', 'v2; DROP', 'v', '../v2']) assert.equal((await sut.index(chunk(0), bad)).status, 'skipped', bad);
  });

  it('on init creates a pinned VECTOR_COLLECTION_VERSION as is', async () => {
    const { sut, store } = setup({ pinned: 'chunks_v7' });
    await sut.onModuleInit();
    assert.deepEqual(store.calls, ['ensure chunks_v7 8', 'alias chunks -> chunks_v7']);
  });

  it("writes each chunk into its own model's collection, so the hashing embedder and MiniLM never share one", async () => {
    const { sut, store, publisher } = setup({ batchMax: 3, waitMs: 1 });
    await sut.onModuleInit();
    const minilm = { embedding_model: 'all-MiniLM-L6-v2', embedding_model_version: 'all-MiniLM-L6-v2' };
    await Promise.all([sut.index(chunk(0)), sut.index(chunk(1, minilm)), sut.index(chunk(2, minilm))]);
    await sut.index(chunk(3, minilm)); // a later batch: its collection is not created again
    const minilmCollection = 'chunks_all-MiniLM-L6-v2_8_v1';
    assert.deepEqual(
      store.upserts.slice(0, 2).map((u) => [u.collection, u.points.map((p) => p.embeddingModel)]),
      [
        [HASHING_8, ['local-hashing-ngram@v1']],
        [minilmCollection, ['all-MiniLM-L6-v2@all-MiniLM-L6-v2', 'all-MiniLM-L6-v2@all-MiniLM-L6-v2']],
      ],
    );
    assert.deepEqual(
      store.calls.filter((c) => c.startsWith('ensure')),
      [`ensure ${HASHING_8} 8`, `ensure ${minilmCollection} 8`],
      'each collection is created once',
    );
    assert.deepEqual(
      publisher.on<IndexStatus>(Topics.indexStatus).map((s) => s.collection),
      [HASHING_8, minilmCollection, minilmCollection, minilmCollection],
    );
  });

  it("refuses, with the reason, a chunk of another model than a pinned collection's", async () => {
    const { sut, store, publisher } = setup({ batchMax: 1, pinned: 'chunks_v7' });
    const outcome = await sut.index(chunk(0, { embedding_model: 'all-MiniLM-L6-v2', embedding_model_version: 'all-MiniLM-L6-v2' }));
    assert.deepEqual(outcome, {
      status: 'skipped',
      reason: 'chunk embedded with all-MiniLM-L6-v2@all-MiniLM-L6-v2; the pinned collection chunks_v7 holds local-hashing-ngram@v1 only',
    });
    assert.equal(store.upserts.length, 0);
    assert.equal(publisher.sent.length, 0);
  });

  it('upserts concurrent chunks in one batch into the pinned collection, under deterministic point ids, then reports each UPSERTED', async () => {
    mock.timers.enable({ apis: ['Date'], now: 1_767_225_601_500 });
    const { sut, store, publisher } = setup({ pinned: 'chunks_v7' });
    const outcomes = await Promise.all([sut.index(chunk(0, { occurred_at: 1_767_225_600_000 })), sut.index(chunk(1, { occurred_at: 1_767_225_600_000 }))]);
    assert.deepEqual(outcomes, [{ status: 'success' }, { status: 'success' }]);
    assert.equal(store.upserts.length, 1, 'one write for the batch');
    const { collection, points } = store.upserts[0]!;
    assert.equal(collection, 'chunks_v7');
    assert.deepEqual(
      points.map((p) => p.id),
      [pointId('tenant-a', 'tenant-a:doc-1:0:hash-v1'), pointId('tenant-a', 'tenant-a:doc-1:1:hash-v1')],
    );
    assert.deepEqual(points[0]!.sparse, { indices: [17, 4096], values: [1.5, 0.75] });
    assert.equal(points[0]!.embeddingModel, 'local-hashing-ngram@v1');
    assert.deepEqual(points[0]!.metadata, { title: 'Notre Dame' });
    const status = publisher.on<IndexStatus>(Topics.indexStatus);
    assert.deepEqual(
      status.map((s) => [s.chunk_id, s.status, s.collection, s.index_lag_ms, s.error]),
      [
        ['tenant-a:doc-1:0:hash-v1', 'UPSERTED', 'chunks_v7', 1_500, null],
        ['tenant-a:doc-1:1:hash-v1', 'UPSERTED', 'chunks_v7', 1_500, null],
      ],
    );
    assert.deepEqual(publisher.keysOn(Topics.indexStatus), ['tenant-a/doc-1', 'tenant-a/doc-1']);
  });

  it('a redelivered chunk is upserted under the same point id (replaced, not duplicated)', async () => {
    const { sut, store } = setup({ batchMax: 1 });
    await sut.index(chunk(0));
    await sut.index(chunk(0, { event_id: 'redelivered' }));
    assert.deepEqual(
      store.upserts.map((u) => u.points[0]!.id),
      [pointId('tenant-a', 'tenant-a:doc-1:0:hash-v1'), pointId('tenant-a', 'tenant-a:doc-1:0:hash-v1')],
    );
    // The same chunk id under another tenant is another point.
    await sut.index(chunk(0, { tenant_id: 'tenant-b' }));
    assert.notEqual(store.upserts[2]!.points[0]!.id, store.upserts[0]!.points[0]!.id);
  });

  it('a lone chunk is written once INDEX_BATCH_WAIT_MS passed, not before', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const { sut, store } = setup({ batchMax: 10, waitMs: 50 });
    let done = false;
    const indexing = sut.index(chunk(0)).then(() => (done = true));
    await new Promise<void>((resolve) => setImmediate(resolve)); // the collection check, then the chunk waits in the batch
    mock.timers.tick(49);
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(store.upserts.length, 0);
    assert.equal(done, false);
    mock.timers.tick(1);
    await indexing;
    assert.equal(store.upserts.length, 1);
  });

  it('skips a chunk whose vector does not have the pinned collection’s dimensions, without writing it', async () => {
    const { sut, store, publisher } = setup({ batchMax: 1, pinned: 'chunks_v7' });
    const outcome = await sut.index(chunk(0, { dense: [1, 2, 3] }));
    assert.deepEqual(outcome, { status: 'skipped', reason: 'dense vector has 3 dimensions, collection expects 8' });
    assert.equal(store.upserts.length, 0);
    assert.equal(publisher.sent.length, 0);
  });

  it('a failed store write fails every chunk of the batch with a retriable vector_store_unavailable, and reports nothing', async () => {
    const { sut, store, publisher } = setup();
    store.failUpserts = true;
    const results = await Promise.allSettled([sut.index(chunk(0)), sut.index(chunk(1))]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      const err = (r as PromiseRejectedResult).reason as unknown;
      assert.ok(err instanceof RetriableError);
      assert.equal(err.code, 'vector_store_unavailable');
      assert.match(err.message, /connection refused/);
    }
    assert.equal(publisher.sent.length, 0);
  });
});
