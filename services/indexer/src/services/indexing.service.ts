import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { EventPublisher, Outcome, newEnvelope, type HandlerOutcome } from '@llmgov/kafka-runtime';
import { RetriableError } from '@llmgov/errors';
import { PlatformMetrics } from '@llmgov/observability';
import { pointId, type ChunkPoint, type VectorStore } from '@llmgov/vector-store';
import { Topics, type ChunkEmbedded, type IndexStatus } from '@llmgov/contracts';
import { INDEXER_CONFIG, type IndexerConfig } from '../config.js';
import { MicroBatcher } from './micro-batcher.js';

export const VECTOR_STORE = Symbol('VECTOR_STORE');

/** Upserts embedded chunks into the vector store in micro-batches and reports index status and lag. */
@Injectable()
export class IndexingService implements OnModuleInit {
  private readonly batcher: MicroBatcher<ChunkPoint>;
  private readonly lag: Gauge;

  constructor(
    @Inject(INDEXER_CONFIG) private readonly config: IndexerConfig,
    @Inject(VECTOR_STORE) private readonly store: VectorStore,
    private readonly publisher: EventPublisher,
    metrics: PlatformMetrics,
  ) {
    this.batcher = new MicroBatcher((points) => this.upsert(points), config.INDEX_BATCH_MAX, config.INDEX_BATCH_WAIT_MS);
    this.lag = new Gauge({
      name: 'index_lag_seconds',
      help: 'Seconds from a chunk event occurring to its point being searchable (last upsert)',
      registers: [metrics.registry],
    });
  }

  /** Creates the versioned collection and points the alias at it (idempotent). */
  async onModuleInit(): Promise<void> {
    await this.store.ensureCollection(this.config.VECTOR_COLLECTION_VERSION, { dimensions: this.config.EMBEDDING_DIMENSIONS });
    await this.store.setAlias(this.config.VECTOR_COLLECTION, this.config.VECTOR_COLLECTION_VERSION);
  }

  /**
   * Upserts one chunk (batched with concurrent ones) under a deterministic point id, then publishes UPSERTED
   * with the index lag in ms. Redelivery re-upserts the same point id: no duplicate.
   * @throws RetriableError when the store write fails.
   */
  async index(chunk: ChunkEmbedded): Promise<HandlerOutcome> {
    if (chunk.dense.length !== this.config.EMBEDDING_DIMENSIONS) {
      return Outcome.skipped(`dense vector has ${chunk.dense.length} dimensions, collection expects ${this.config.EMBEDDING_DIMENSIONS}`);
    }
    await this.batcher.add({
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
    });
    const lagMs = Math.max(0, Date.now() - chunk.occurred_at);
    this.lag.set(lagMs / 1000);
    const status: IndexStatus = {
      ...newEnvelope(chunk.tenant_id, chunk.document_id),
      document_id: chunk.document_id,
      chunk_id: chunk.chunk_id,
      collection: this.config.VECTOR_COLLECTION_VERSION,
      status: 'UPSERTED',
      index_lag_ms: lagMs,
      error: null,
    };
    await this.publisher.publish(Topics.indexStatus, { value: status });
    return Outcome.success();
  }

  private async upsert(points: ChunkPoint[]): Promise<void> {
    try {
      await this.store.upsert(this.config.VECTOR_COLLECTION, points);
    } catch (err) {
      throw new RetriableError(`vector store upsert failed: ${(err as Error).message}`, 'vector_store_unavailable', { cause: err });
    }
  }
}
