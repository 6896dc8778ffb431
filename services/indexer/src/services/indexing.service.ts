import { Inject, Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { EventPublisher, Outcome, newEnvelope, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { RetriableError } from '@llmgov/errors';
import { PlatformMetrics } from '@llmgov/observability';
import { configuredEmbeddingSpace } from '@llmgov/embeddings';
import { indexVersion, pointId, type ChunkPoint, type EmbeddingSpace, type VectorStore } from '@llmgov/vector-store';
import { Topics, type ChunkEmbedded, type IndexStatus } from '@llmgov/contracts';
import { SEMANTIC_CACHE, type SemanticCacheLayer } from '@llmgov/persistence';
import { INDEXER_CONFIG, type IndexerConfig } from '../config.js';
import { MicroBatcher } from './micro-batcher.js';

export const VECTOR_STORE = Symbol('VECTOR_STORE');

/** A point on its way to the store, with the collection it belongs to. */
interface Pending {
  collection: string;
  point: ChunkPoint;
  /** The document's chunk count in this version; with the last chunk, chunks left over from a longer version go. */
  chunkCount: number;
  last: boolean;
}

/**
 * Upserts embedded chunks into the vector store in micro-batches and reports index status and lag.
 *
 * Each chunk goes into the collection of its embedding space, `indexVersion({model, modelVersion, dimensions})` of the
 * model that embedded it (as the chunk record says), so vectors of two models never share a collection; the router
 * searches the collection of its query vector's space by the same function. With `VECTOR_COLLECTION_VERSION` pinned,
 * every chunk goes there, and a chunk of another space than the configured one is refused.
 */
@Injectable()
export class IndexingService implements OnModuleInit {
  private readonly batcher: MicroBatcher<Pending>;
  private readonly lag: Gauge;
  private readonly invalidated: Counter<'cause'>;
  /** The space the configuration names: created at start-up, and the only one a pinned collection accepts. */
  private readonly configured: EmbeddingSpace;
  /** Collections known to exist (created or checked by this instance), by name. */
  private readonly ensured = new Map<string, Promise<void>>();

  constructor(
    @Inject(INDEXER_CONFIG) private readonly config: IndexerConfig,
    @Inject(VECTOR_STORE) private readonly store: VectorStore,
    private readonly publisher: EventPublisher,
    metrics: PlatformMetrics,
    /** The semantic cache layer (ADR 0008): entries built from a re-indexed or deleted chunk are dropped. */
    @Optional() @Inject(SEMANTIC_CACHE) private readonly semantic?: SemanticCacheLayer,
  ) {
    this.invalidated = new Counter({
      name: 'semantic_cache_invalidated_entries_total',
      help: 'Semantic-cache entries dropped because a chunk they were built from was re-indexed (cause=reindex) or its document deleted (cause=delete)',
      labelNames: ['cause'],
      registers: [metrics.registry],
    });
    this.batcher = new MicroBatcher((items) => this.upsert(items), config.INDEX_BATCH_MAX, config.INDEX_BATCH_WAIT_MS);
    this.configured = configuredEmbeddingSpace(config);
    this.lag = new Gauge({
      name: 'index_lag_seconds',
      help: 'Seconds from a chunk event occurring to its point being searchable (last upsert)',
      registers: [metrics.registry],
    });
  }

  /**
   * Creates the configured model's collection (or the pinned one) and points the alias at it when the alias does not
   * exist yet (or names a collection that is gone). An alias that exists is left where it is: it is moved by
   * `llmgov reindex` after a verified re-index, and a restart under another model must not swing it to a new, empty
   * collection (issue 12).
   */
  async onModuleInit(): Promise<void> {
    const collection = this.config.VECTOR_COLLECTION_VERSION ?? indexVersion(this.configured);
    await this.ensure(collection, this.configured.dimensions);
    const current = await this.store.resolveAlias(this.config.VECTOR_COLLECTION);
    if (current === undefined || !(await this.store.listCollections()).includes(current)) {
      await this.store.setAlias(this.config.VECTOR_COLLECTION, collection);
    }
  }

  /**
   * Upserts one chunk (batched with concurrent ones) under a deterministic point id into its embedding space's
   * collection (created on first use), then publishes UPSERTED with the index lag in ms. Redelivery re-upserts the same
   * point id: no duplicate. Skips, with the reason, a chunk that a pinned collection cannot hold.
   * @throws RetriableError when the store write fails.
   */
  async index(chunk: ChunkEmbedded, indexVersionHeader?: string): Promise<HandlerOutcome> {
    const space: EmbeddingSpace = { model: chunk.embedding_model, modelVersion: chunk.embedding_model_version, dimensions: chunk.dense.length };
    const pinned = this.config.VECTOR_COLLECTION_VERSION;
    if (indexVersionHeader !== undefined) {
      // A chunk embedded for a tenant's index version (issue 12 §2): that version's collection of the chunk's space.
      if (!/^v[0-9]{1,6}$/.test(indexVersionHeader))
        return Outcome.skipped(`index version header ${JSON.stringify(indexVersionHeader.slice(0, 40))} is not v<number>`);
      let collection: string;
      try {
        collection = indexVersion(space, 'chunks', indexVersionHeader);
      } catch (err) {
        return Outcome.skipped(`no collection for this chunk's embedding space: ${(err as Error).message}`);
      }
      return this.write(chunk, collection, space);
    }
    if (pinned !== undefined) {
      if (space.dimensions !== this.configured.dimensions) {
        return Outcome.skipped(`dense vector has ${space.dimensions} dimensions, collection expects ${this.configured.dimensions}`);
      }
      if (space.model !== this.configured.model || space.modelVersion !== this.configured.modelVersion) {
        return Outcome.skipped(
          `chunk embedded with ${space.model}@${space.modelVersion}; the pinned collection ${pinned} holds ${this.configured.model}@${this.configured.modelVersion} only`,
        );
      }
    }
    let collection: string;
    try {
      collection = pinned ?? indexVersion(space);
    } catch (err) {
      return Outcome.skipped(`no collection for this chunk's embedding space: ${(err as Error).message}`);
    }
    return this.write(chunk, collection, space);
  }

  /** Batches the chunk's point into `collection` (created on first use), then publishes UPSERTED. */
  private async write(chunk: ChunkEmbedded, collection: string, space: EmbeddingSpace): Promise<HandlerOutcome> {
    await this.ensure(collection, space.dimensions);
    await this.batcher.add({
      collection,
      chunkCount: chunk.chunk_count,
      last: chunk.chunk_index === chunk.chunk_count - 1,
      point: {
        id: pointId(chunk.tenant_id, chunk.chunk_id),
        tenantId: chunk.tenant_id,
        documentId: chunk.document_id,
        chunkId: chunk.chunk_id,
        text: chunk.text,
        dense: chunk.dense,
        sparse: { indices: chunk.sparse_indices, values: chunk.sparse_values },
        contentHash: chunk.content_hash,
        embeddingModel: `${chunk.embedding_model}@${chunk.embedding_model_version}`,
        metadata: { title: chunk.title },
      },
    });
    const lagMs = Math.max(0, Date.now() - chunk.occurred_at);
    this.lag.set(lagMs / 1000);
    const status: IndexStatus = {
      ...newEnvelope(chunk.tenant_id, chunk.document_id),
      document_id: chunk.document_id,
      chunk_id: chunk.chunk_id,
      collection,
      status: 'UPSERTED',
      index_lag_ms: lagMs,
      error: null,
    };
    await this.publisher.publish(Topics.indexStatus, { value: status });
    return Outcome.success();
  }

  /** Creates the collection once per instance; a failure is retried by the next chunk. @throws RetriableError */
  private ensure(collection: string, dimensions: number): Promise<void> {
    let ready = this.ensured.get(collection);
    if (!ready) {
      ready = this.store.ensureCollection(collection, { dimensions }).catch((err: unknown) => {
        this.ensured.delete(collection);
        throw new RetriableError(`cannot create collection ${collection}: ${(err as Error).message}`, 'vector_store_unavailable', { cause: err });
      });
      this.ensured.set(collection, ready);
    }
    return ready;
  }

  /** One store write per collection in the batch (almost always one: chunks of one model). */
  private async upsert(items: Pending[]): Promise<void> {
    const byCollection = new Map<string, ChunkPoint[]>();
    for (const { collection, point } of items) {
      const points = byCollection.get(collection);
      if (points) points.push(point);
      else byCollection.set(collection, [point]);
    }
    const shortened: { collection: string; tenantId: string; documentId: string }[] = [];
    try {
      for (const [collection, points] of byCollection) await this.store.upsert(collection, points);
      // A document re-submitted shorter leaves chunks `<doc>#n..` of its longer version: with its last chunk written,
      // everything of the document but its current `<doc>#0..#(count-1)` (the embedder's chunk ids) goes.
      for (const { collection, point, chunkCount, last } of items) {
        if (!last) continue;
        const keep = Array.from({ length: chunkCount }, (_, i) => `${point.documentId}#${i}`);
        if ((await this.store.deleteByDocument(collection, point.tenantId, point.documentId, keep)) > 0) {
          shortened.push({ collection, tenantId: point.tenantId, documentId: point.documentId });
        }
      }
    } catch (err) {
      throw new RetriableError(`vector store upsert failed: ${(err as Error).message}`, 'vector_store_unavailable', { cause: err });
    }
    // A chunk written again (re-indexed: new text under the same chunk id) invalidates the cached answers built from it.
    // After the write, so a lookup in between still sees the old answer at worst, never a fresh one built on old text
    // being dropped. One script call per tenant in the batch; a first-time chunk has no dependants and costs one SMEMBERS.
    if (this.semantic) {
      const byTenant = new Map<string, string[]>();
      for (const { point } of items) {
        const ids = byTenant.get(point.tenantId);
        if (ids) ids.push(point.chunkId);
        else byTenant.set(point.tenantId, [point.chunkId]);
      }
      for (const [tenant, chunkIds] of byTenant) {
        const n = await this.semantic.store.invalidateChunks(tenant, chunkIds);
        if (n > 0) this.invalidated.inc({ cause: 'reindex' }, n);
      }
      // Answers built on a removed left-over chunk: by the document (its other chunks were re-written just now anyway).
      for (const { tenantId, documentId } of shortened) {
        const n = await this.semantic.store.invalidateDocuments(tenantId, [documentId]);
        if (n > 0) this.invalidated.inc({ cause: 'reindex' }, n);
      }
    }
  }

  /**
   * Deletes every chunk of one document of a tenant from every index version (every collection of the store named
   * `chunks_*` by `indexVersion`, plus the pinned one and those this instance wrote to), drops the semantic-cache entries
   * built from it, and publishes a DELETED index status. Called for a tombstone on the chunks topic (DELETE
   * /v1/documents/{id}, issue 12 §3); idempotent.
   * @returns the number of points deleted.
   * @throws RetriableError when the store or Redis cannot be reached.
   */
  async removeDocument(tenantId: string, documentId: string): Promise<number> {
    const collection = this.config.VECTOR_COLLECTION_VERSION ?? indexVersion(this.configured);
    let deleted = 0;
    try {
      // Every index version: a document's chunks live in the collection of each version that indexed it.
      const all = (await this.store.listCollections()).filter((c) => c.startsWith('chunks_'));
      const collections = new Set([collection, ...this.ensured.keys(), ...all]);
      for (const c of collections) deleted += await this.store.deleteByDocument(c, tenantId, documentId);
    } catch (err) {
      throw new RetriableError(`vector store delete failed: ${(err as Error).message}`, 'vector_store_unavailable', { cause: err });
    }
    if (this.semantic) {
      const n = await this.semantic.store.invalidateDocuments(tenantId, [documentId]);
      if (n > 0) this.invalidated.inc({ cause: 'delete' }, n);
    }
    const status: IndexStatus = {
      ...newEnvelope(tenantId, documentId),
      document_id: documentId,
      chunk_id: '',
      collection,
      status: 'DELETED',
      index_lag_ms: 0,
      error: null,
    };
    await this.publisher.publish(Topics.indexStatus, { value: status });
    return deleted;
  }
}
