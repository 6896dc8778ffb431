/**
 * Semantic-cache invalidation by the indexer against the real local stack: the real IndexingService with a real LanceDB
 * store (a temporary folder), the real Redis semantic cache and a real Kafka publisher in its own topic namespace.
 * - a chunk indexed again (re-indexed) drops every cached answer built from it, and no other;
 * - removeDocument deletes the document's points, drops the answers built from any of its chunks, and publishes DELETED.
 * Needs `infra/local/up.sh` and `.local/stack.env`; skipped without KAFKA_BROKERS / REDIS_URL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Topics, type ChunkEmbedded, type IndexStatus } from '@llmgov/contracts';
import { AvroSerde, EventPublisher, TopicNamespace, createKafka, deleteNamespace, newEnvelope } from '@llmgov/kafka-runtime';
import { PlatformMetrics, createLogger } from '@llmgov/observability';
import {
  RedisSemanticCache,
  SemanticCacheKeys,
  SemanticCacheRecords,
  createRedis,
  semanticScopeKey,
  type Redis,
  type SemanticScope,
} from '@llmgov/persistence';
import { vectorStoreFromSettings, type VectorStore } from '@llmgov/vector-store';
import { waitForRecord } from '@llmgov/testing';
import { bootstrapPlatform } from '@llmgov/platform';
import { loadIndexerConfig } from '../src/config.js';
import { IndexingService } from '../src/services/indexing.service.js';

const run = randomUUID().slice(0, 8);
const prefix = `it-semcache.${run}.`;
const tenant = `si-${run}`;
const enabled = Boolean(process.env.KAFKA_BROKERS && process.env.REDIS_URL);
const DIMS = 8;

/** A unit-ish vector pointing mostly along axis `i`. */
const axis = (i: number): number[] => Array.from({ length: DIMS }, (_, k) => (k === i ? 1 : 0.01));

describe('semantic cache invalidation by the indexer', { skip: enabled ? false : 'the local stack is not configured', timeout: 120_000 }, () => {
  let kafka: Kafka;
  let producer: Producer;
  let redis: Redis;
  let store: VectorStore;
  let dir: string;
  let indexing: IndexingService;
  let cache: RedisSemanticCache;
  const scope: SemanticScope = {
    tenantId: tenant,
    route: 'squad-qa',
    key: semanticScopeKey({ route: 'squad-qa', systemPrompt: null, rag: true, tierTemplates: 'S=t@1', indexVersion: 'it', modelGeneration: 'it' }),
  };
  const options = { defaultThreshold: 0.9, embeddingSpace: 'it' };

  before(async () => {
    const config = { ...loadIndexerConfig(), KAFKA_TOPIC_PREFIX: prefix, EMBEDDING_DIMENSIONS: DIMS };
    dir = mkdtempSync(path.join(tmpdir(), 'semcache-it-'));
    await bootstrapPlatform(config);
    kafka = createKafka(`it-semcache-${run}`, config.KAFKA_BROKERS, createLogger('it', 'error'));
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const publisher = new EventPublisher(
      producer,
      new AvroSerde(new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL })),
      undefined,
      new TopicNamespace(prefix),
    );
    redis = createRedis(config.REDIS_URL);
    cache = new RedisSemanticCache(redis);
    store = vectorStoreFromSettings({ ...config, VECTOR_STORE: 'lancedb', VECTOR_STORE_DIR: dir });
    indexing = new IndexingService(
      { ...config, VECTOR_STORE: 'lancedb', VECTOR_STORE_DIR: dir, INDEX_BATCH_WAIT_MS: 0 },
      store,
      publisher,
      new PlatformMetrics('indexer-it'),
      { store: cache, records: new SemanticCacheRecords(redis) },
    );
    await indexing.onModuleInit();
  });

  after(async () => {
    await producer?.disconnect();
    await deleteNamespace(kafka, prefix).catch(() => undefined);
    const keys = await redis.keys(`semcache:{${tenant}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const chunk = (documentId: string, index: number, text: string): ChunkEmbedded => ({
    ...newEnvelope(tenant, documentId),
    document_id: documentId,
    chunk_id: `${documentId}#${index}`,
    chunk_index: index,
    chunk_count: 2,
    title: 'Super Bowl 50',
    text,
    token_count: 10,
    content_hash: randomUUID().replace(/-/g, '').padEnd(64, '0'),
    embedding_model: 'it-model',
    embedding_model_version: 'v1',
    dense: axis(index),
    sparse_indices: [],
    sparse_values: [],
    metadata: {},
  });

  /** A cached answer built from the given chunks (ids `<doc>#<n>`), stored along axis `at`. */
  const cacheAnswer = (id: string, chunkIds: string[], at: number) =>
    cache.add(
      scope,
      {
        id,
        route: scope.route,
        text: `answer ${id}`,
        finish_reason: 'stop',
        model: 'm',
        tier: 'S',
        context: chunkIds.map((c) => ({ chunk_id: c, document_id: c.split('#')[0]!, text: 'x', score: 1 })),
        quality: 0.9,
        source_prompt: `question ${id}`,
        chunk_ids: chunkIds,
        document_ids: [...new Set(chunkIds.map((c) => c.split('#')[0]!))],
        intent: null,
        created_at: 0,
        expires_at: 0,
      },
      axis(at),
      { ttlSeconds: 600, maxEntries: 100 },
    );

  it('re-indexing a chunk drops the answers built from it and keeps the others', async () => {
    await indexing.index(chunk('docA', 0, 'Super Bowl 50 was played at Levi Stadium.'));
    await indexing.index(chunk('docB', 1, 'The Broncos won.'));
    await cacheAnswer('fromA', ['docA#0'], 0);
    await cacheAnswer('fromB', ['docB#1'], 1);
    assert.equal((await cache.lookup(scope, axis(0), options)).entry?.id, 'fromA');

    // docA's chunk 0 comes again with new text: a re-index.
    await indexing.index(chunk('docA', 0, 'Super Bowl 50 was played at Levi Stadium in Santa Clara, California.'));
    assert.equal((await cache.lookup(scope, axis(0), options)).entry, undefined, 'the answer built from the re-indexed chunk is gone');
    assert.equal(await redis.exists(SemanticCacheKeys.entry(tenant, scope.key, 'fromA')), 0);
    assert.equal((await cache.lookup(scope, axis(1), options)).entry?.id, 'fromB', 'an answer built from other chunks stays');
  });

  it('removeDocument deletes the points, drops the answers built from the document and publishes DELETED', async () => {
    await indexing.index(chunk('docC', 0, 'Beyoncé headlined the halftime show.'));
    await cacheAnswer('fromC', ['docC#0', 'docB#1'], 3);
    assert.equal((await cache.lookup(scope, axis(3), options)).entry?.id, 'fromC');
    const deleted = await indexing.removeDocument(tenant, 'docC');
    assert.equal(deleted, 1, "docC's one point");
    assert.equal((await cache.lookup(scope, axis(3), options)).entry, undefined);
    assert.equal((await cache.lookup(scope, axis(1), options)).entry?.id, 'fromB', 'docB was not deleted');
    const serde = new AvroSerde(new SchemaRegistry({ host: process.env.SCHEMA_REGISTRY_URL! }));
    const rec = await waitForRecord(kafka, `${prefix}${Topics.indexStatus}`, async (r) => {
      const v = await serde.decode<IndexStatus>(r.message.value);
      return v.document_id === 'docC' && v.status === 'DELETED';
    });
    assert.equal(rec.topic, `${prefix}${Topics.indexStatus}`);
  });
});
